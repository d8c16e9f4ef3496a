package dev.gemmalora.model;

import java.util.Arrays;

/**
 * Keys (after RoPE) and values of every position seen so far, per layer and batch row, with the
 * padding mask of each position. All rows advance together: new tokens of a step sit at the same
 * positions in every row.
 */
public final class KvCache {
    private final int layers;
    private final int batch;
    private final int kvDim;
    private int capacity;
    private int length;
    private final float[][][] keys;
    private final float[][][] values;
    private boolean[][] valid;

    public KvCache(int layers, int batch, int kvDim, int capacity) {
        this.layers = layers;
        this.batch = batch;
        this.kvDim = kvDim;
        this.capacity = Math.max(1, capacity);
        keys = new float[layers][batch][this.capacity * kvDim];
        values = new float[layers][batch][this.capacity * kvDim];
        valid = new boolean[batch][this.capacity];
    }

    public static KvCache forModel(Gemma2Config cfg, int batch, int capacity) {
        return new KvCache(cfg.layers(), batch, cfg.kvDim(), capacity);
    }

    public int length() {
        return length;
    }

    public int batch() {
        return batch;
    }

    float[] keys(int layer, int row) {
        return keys[layer][row];
    }

    float[] values(int layer, int row) {
        return values[layer][row];
    }

    boolean valid(int row, int pos) {
        return valid[row][pos];
    }

    /** Makes room for n more positions and records their mask; called once per forward step. */
    void reserve(int n, int[][] mask) {
        int need = length + n;
        if (need > capacity) {
            int cap = Math.max(need, capacity * 2);
            for (int l = 0; l < layers; l++) {
                for (int b = 0; b < batch; b++) {
                    keys[l][b] = Arrays.copyOf(keys[l][b], cap * kvDim);
                    values[l][b] = Arrays.copyOf(values[l][b], cap * kvDim);
                }
            }
            for (int b = 0; b < batch; b++) {
                valid[b] = Arrays.copyOf(valid[b], cap);
            }
            capacity = cap;
        }
        for (int b = 0; b < batch; b++) {
            for (int i = 0; i < n; i++) {
                valid[b][length + i] = mask == null || mask[b][i] != 0;
            }
        }
    }

    /** Stores k, v [B*T, kvDim] of the current step for one layer at positions length .. length+T. */
    void store(int layer, float[] k, float[] v, int tokensPerRow) {
        for (int b = 0; b < batch; b++) {
            System.arraycopy(k, b * tokensPerRow * kvDim, keys[layer][b], length * kvDim, tokensPerRow * kvDim);
            System.arraycopy(v, b * tokensPerRow * kvDim, values[layer][b], length * kvDim, tokensPerRow * kvDim);
        }
    }

    void advance(int n) {
        length += n;
    }

    /** A cache of `rows` rows, each a copy of row `src` of this one (a shared prefix fanned out). */
    public KvCache fanOut(int src, int rows, int extraCapacity) {
        KvCache c = new KvCache(layers, rows, kvDim, length + extraCapacity);
        for (int l = 0; l < layers; l++) {
            for (int b = 0; b < rows; b++) {
                System.arraycopy(keys[l][src], 0, c.keys[l][b], 0, length * kvDim);
                System.arraycopy(values[l][src], 0, c.values[l][b], 0, length * kvDim);
            }
        }
        for (int b = 0; b < rows; b++) {
            System.arraycopy(valid[src], 0, c.valid[b], 0, length);
        }
        c.length = length;
        return c;
    }
}
