package dev.gemmalora.model;

import java.util.Arrays;

/**
 * Keys (after RoPE) and values of every position seen so far, per layer and batch row, with the
 * padding mask of each position. All rows advance together: new tokens of a step sit at the same
 * slots in every row. A token's position is its slot, unless the cache numbers positions by real
 * tokens ({@link #numberRealTokens}), as each row would on its own.
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
    /** Real tokens so far in each row, when positions skip padding; else null. */
    private int[] realTokens;
    /** Positions of the current step's tokens [B*T], when positions skip padding. */
    private int[] stepPositions;

    public KvCache(int layers, int batch, int kvDim, int capacity) {
        this.layers = layers;
        this.batch = batch;
        this.kvDim = kvDim;
        this.capacity = Math.max(1, capacity);
        keys = new float[layers][batch][this.capacity * kvDim];
        values = new float[layers][batch][this.capacity * kvDim];
        valid = new boolean[batch][this.capacity];
    }

    /** A cache over existing storage ({@link #rows}). */
    private KvCache(int layers, int batch, int kvDim, int capacity, float[][][] keys, float[][][] values, boolean[][] valid) {
        this.layers = layers;
        this.batch = batch;
        this.kvDim = kvDim;
        this.capacity = capacity;
        this.keys = keys;
        this.values = values;
        this.valid = valid;
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

    /**
     * From now on a new token's position is the number of real tokens before it in its row, so
     * rows padded to a common length (prompts of different lengths decoded together) are numbered
     * as each would be alone; sliding windows then count real tokens too.
     */
    public void numberRealTokens() {
        realTokens = new int[batch];
        for (int b = 0; b < batch; b++) {
            for (int j = 0; j < length; j++) {
                realTokens[b] += valid[b][j] ? 1 : 0;
            }
        }
    }

    boolean numbersRealTokens() {
        return realTokens != null;
    }

    /** Positions of the step's tokens [B*T] under {@link #numberRealTokens}, else null (positions are slots). */
    int[] stepPositions() {
        return stepPositions;
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
        if (realTokens != null) {
            stepPositions = new int[batch * n];
            for (int b = 0; b < batch; b++) {
                for (int i = 0; i < n; i++) {
                    stepPositions[b * n + i] = realTokens[b];
                    realTokens[b] += valid[b][length + i] ? 1 : 0;
                }
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

    /** The given rows of this cache, in that order, sharing their storage with it (finished rows of a batch left out). */
    public KvCache rows(int[] keep) {
        float[][][] k = new float[layers][keep.length][];
        float[][][] v = new float[layers][keep.length][];
        boolean[][] m = new boolean[keep.length][];
        for (int i = 0; i < keep.length; i++) {
            for (int l = 0; l < layers; l++) {
                k[l][i] = keys[l][keep[i]];
                v[l][i] = values[l][keep[i]];
            }
            m[i] = valid[keep[i]];
        }
        KvCache c = new KvCache(layers, keep.length, kvDim, capacity, k, v, m);
        c.length = length;
        if (realTokens != null) {
            c.realTokens = new int[keep.length];
            for (int i = 0; i < keep.length; i++) {
                c.realTokens[i] = realTokens[keep[i]];
            }
        }
        return c;
    }

    /**
     * A cache of `rows` rows, each a copy of row `src` of this one (a shared prefix fanned out),
     * with room for extraCapacity more positions: old, its contents overwritten, when that is a
     * cache of this shape with the rows and the room (and nothing else holds it), else a new one.
     * A new one that replaces old gets a quarter more room than asked, so that batches of varying
     * length soon fit; a first or one-off copy gets what is asked.
     */
    public KvCache fanOut(int src, int rows, int extraCapacity, KvCache old) {
        boolean fits = old != null && old.layers == layers && old.kvDim == kvDim && old.batch == rows
                && old.capacity >= length + extraCapacity;
        KvCache c = fits ? old : new KvCache(layers, rows, kvDim, length + extraCapacity + (old == null ? 0 : extraCapacity / 4));
        c.realTokens = null;
        c.stepPositions = null;
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
