package dev.gemmalora.model;

import java.util.Arrays;

/**
 * Keys (after RoPE) and values of every position seen so far, per layer and batch row, with the
 * padding mask of each position. A step's new tokens go after each row's own slots: rows built
 * together advance together (same slots in every row), while rows {@link #join joined} from
 * separate caches keep lengths of their own, as continuous batching needs. A token's position is
 * its slot, unless the cache numbers positions by real tokens ({@link #numberRealTokens}), as each
 * row would on its own.
 */
public final class KvCache {
    private final int layers;
    private final int batch;
    private final int kvDim;
    /** Slots filled in each row. */
    private final int[] lengths;
    private final float[][][] keys;
    private final float[][][] values;
    private final boolean[][] valid;
    /** Real tokens so far in each row, when positions skip padding; else null. */
    private int[] realTokens;
    /** Positions of the current step's tokens [B*T], when positions skip padding; else null. */
    private int[] stepPositions;

    public KvCache(int layers, int batch, int kvDim, int capacity) {
        this.layers = layers;
        this.batch = batch;
        this.kvDim = kvDim;
        int cap = Math.max(1, capacity);
        lengths = new int[batch];
        keys = new float[layers][batch][cap * kvDim];
        values = new float[layers][batch][cap * kvDim];
        valid = new boolean[batch][cap];
    }

    /** A cache of `batch` rows whose storage the caller fills from other caches ({@link #rows}, {@link #join}). */
    private KvCache(int layers, int batch, int kvDim) {
        this.layers = layers;
        this.batch = batch;
        this.kvDim = kvDim;
        lengths = new int[batch];
        keys = new float[layers][batch][];
        values = new float[layers][batch][];
        valid = new boolean[batch][];
    }

    public static KvCache forModel(GemmaConfig cfg, int batch, int capacity) {
        return new KvCache(cfg.layers(), batch, cfg.kvDim(), capacity);
    }

    /** Slots filled in the longest row (every row, unless rows were joined). */
    public int length() {
        int max = 0;
        for (int n : lengths) {
            max = Math.max(max, n);
        }
        return max;
    }

    /** Slots filled in row b. */
    public int length(int b) {
        return lengths[b];
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
            for (int j = 0; j < lengths[b]; j++) {
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

    /** Makes room for n more positions in every row and records their mask; called once per forward step. */
    void reserve(int n, int[][] mask) {
        for (int b = 0; b < batch; b++) {
            int need = lengths[b] + n;
            if (need > valid[b].length) {
                int cap = Math.max(need, valid[b].length * 2);
                for (int l = 0; l < layers; l++) {
                    keys[l][b] = Arrays.copyOf(keys[l][b], cap * kvDim);
                    values[l][b] = Arrays.copyOf(values[l][b], cap * kvDim);
                }
                valid[b] = Arrays.copyOf(valid[b], cap);
            }
            for (int i = 0; i < n; i++) {
                valid[b][lengths[b] + i] = mask == null || mask[b][i] != 0;
            }
        }
        if (realTokens != null) {
            stepPositions = new int[batch * n];
            for (int b = 0; b < batch; b++) {
                for (int i = 0; i < n; i++) {
                    stepPositions[b * n + i] = realTokens[b];
                    realTokens[b] += valid[b][lengths[b] + i] ? 1 : 0;
                }
            }
        }
    }

    /** Stores k, v [B*T, kvDim] of the current step for one layer after each row's filled slots. */
    void store(int layer, float[] k, float[] v, int tokensPerRow) {
        for (int b = 0; b < batch; b++) {
            System.arraycopy(k, b * tokensPerRow * kvDim, keys[layer][b], lengths[b] * kvDim, tokensPerRow * kvDim);
            System.arraycopy(v, b * tokensPerRow * kvDim, values[layer][b], lengths[b] * kvDim, tokensPerRow * kvDim);
        }
    }

    void advance(int n) {
        for (int b = 0; b < batch; b++) {
            lengths[b] += n;
        }
    }

    /** The given rows of this cache, in that order, sharing their storage with it (finished rows of a batch left out). */
    public KvCache rows(int[] keep) {
        KvCache c = new KvCache(layers, keep.length, kvDim);
        for (int i = 0; i < keep.length; i++) {
            c.take(i, this, keep[i]);
        }
        if (realTokens != null) {
            c.realTokens = new int[keep.length];
            for (int i = 0; i < keep.length; i++) {
                c.realTokens[i] = realTokens[keep[i]];
            }
        }
        return c;
    }

    /**
     * The rows of a and then of b in one cache sharing their storage (a new sequence joining a
     * running batch), each row keeping its own length; positions count real tokens, so every row
     * goes on as it would alone. a and b must not be used afterwards.
     */
    public static KvCache join(KvCache a, KvCache b) {
        if (a.layers != b.layers || a.kvDim != b.kvDim) {
            throw new IllegalArgumentException("caches of different models");
        }
        KvCache c = new KvCache(a.layers, a.batch + b.batch, a.kvDim);
        for (int i = 0; i < a.batch; i++) {
            c.take(i, a, i);
        }
        for (int i = 0; i < b.batch; i++) {
            c.take(a.batch + i, b, i);
        }
        c.numberRealTokens();
        return c;
    }

    /** Makes row `to` of this cache share row `from` of src's storage and length. */
    private void take(int to, KvCache src, int from) {
        for (int l = 0; l < layers; l++) {
            keys[l][to] = src.keys[l][from];
            values[l][to] = src.values[l][from];
        }
        valid[to] = src.valid[from];
        lengths[to] = src.lengths[from];
    }

    /**
     * A cache of `rows` rows, each a copy of row `src` of this one (a shared prefix fanned out),
     * with room for extraCapacity more positions: old, its contents overwritten, when that is a
     * cache of this shape with the rows and the room (and nothing else holds it), else a new one.
     * A new one that replaces old gets a quarter more room than asked, so that batches of varying
     * length soon fit; a first or one-off copy gets what is asked.
     */
    public KvCache fanOut(int src, int rows, int extraCapacity, KvCache old) {
        int length = lengths[src];
        boolean fits = old != null && old.layers == layers && old.kvDim == kvDim && old.batch == rows
                && Arrays.stream(old.valid).allMatch(v -> v.length >= length + extraCapacity);
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
        Arrays.fill(c.lengths, length);
        return c;
    }
}
