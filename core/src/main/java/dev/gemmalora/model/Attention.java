package dev.gemmalora.model;

import dev.gemmalora.tensor.Gemm;
import dev.gemmalora.tensor.Parallel;
import dev.gemmalora.tensor.WeightedRows;
import java.util.Arrays;

/**
 * Scaled dot-product attention over the KV cache with Gemma-2's soft-capping, causal and
 * sliding-window masks and grouped-query heads. A query that sees no key at all (a padded position
 * inside the sliding window's blind spot) gets uniform weights over every key, as HF's additive
 * min-float mask produces.
 */
public final class Attention {
    private final int heads;
    private final int kvHeads;
    private final int headDim;
    private final float scaling;
    private final double softcap;

    public Attention(GemmaConfig cfg) {
        heads = cfg.heads();
        kvHeads = cfg.kvHeads();
        headDim = cfg.headDim();
        scaling = (float) Math.pow(cfg.queryPreAttnScalar(), -0.5);
        softcap = cfg.attnSoftcap();
    }

    /** First key position a query at pos may see (inclusive). */
    static int firstVisible(int pos, boolean sliding, int window) {
        return sliding ? Math.max(0, pos - window + 1) : 0;
    }

    /**
     * q[B*T, heads*headDim] against keys and values in the cache (already holding this step).
     * If probs is non-null it receives the attention weights, [B][heads][T][kvLen]. With a tree,
     * each new token sees the cache and its own ancestors instead of every earlier token.
     */
    public float[] forward(float[] q, int batch, int tokens, KvCache cache, int layer, boolean sliding, int window,
                           float[][][][] probs, TokenTree tree) {
        return forward(q, batch, tokens, cache, layer, sliding, window, probs, tree, new float[batch * tokens * heads * headDim]);
    }

    /** {@link #forward} into the first B*T*heads*headDim floats of out, which it zeroes first and returns. */
    float[] forward(float[] q, int batch, int tokens, KvCache cache, int layer, boolean sliding, int window,
                    float[][][][] probs, TokenTree tree, float[] out) {
        int group = heads / kvHeads;
        int qDim = heads * headDim;
        int kvDim = kvHeads * headDim;
        Arrays.fill(out, 0, batch * tokens * qDim, 0f);
        Parallel.forRange(batch * heads, bh -> {
            int b = bh / heads;
            int h = bh % heads;
            int kh = h / group;
            float[] keys = cache.keys(layer, b);
            float[] values = cache.values(layer, b);
            int kvLen = cache.length(b) + tokens;
            double[] w = new double[kvLen];
            int[] slots = new int[kvLen];
            int[] rowsAt = new int[kvLen];
            float[] weights = new float[kvLen];
            float[] scratch = probs == null ? new float[kvLen] : null;
            for (int i = 0; i < tokens; i++) {
                if (tree != null && tree.isPad(b, i)) {
                    continue;
                }
                int qOff = (b * tokens + i) * qDim + h * headDim;
                int n = visibleSlots(cache, b, i, sliding, window, tree, slots);
                double max = Double.NEGATIVE_INFINITY;
                for (int s = 0; s < n; s++) {
                    int j = slots[s];
                    float z = Gemm.dot(q, qOff, keys, j * kvDim + kh * headDim, headDim) * scaling;
                    w[j] = Ops.softcap(z, softcap);
                    max = Math.max(max, w[j]);
                }
                float[] p = probs == null ? scratch : probs[b][h][i];
                if (n > 0) {
                    double sum = 0;
                    for (int s = 0; s < n; s++) {
                        int j = slots[s];
                        w[j] = Math.exp(w[j] - max);
                        sum += w[j];
                    }
                    for (int s = 0; s < n; s++) {
                        p[slots[s]] = (float) (w[slots[s]] / sum);
                    }
                } else {
                    Arrays.fill(p, 0, kvLen, 1f / kvLen);
                    for (int j = 0; j < kvLen; j++) {
                        slots[j] = j;
                    }
                    n = kvLen;
                }
                int terms = 0;
                for (int s = 0; s < n; s++) {
                    int j = slots[s];
                    if (p[j] != 0f) {
                        rowsAt[terms] = j * kvDim + kh * headDim;
                        weights[terms++] = p[j];
                    }
                }
                WeightedRows.add(out, (b * tokens + i) * qDim + h * headDim, headDim, values, rowsAt, weights, terms);
                if (probs == null) {
                    Arrays.fill(p, 0f);
                }
            }
        });
        return out;
    }

    /**
     * Cache slots new token i of row b may attend to, ascending, into slots; returns how many. New
     * tokens sit in slots length.. in row order; without a tree a token's slot is its position.
     */
    private static int visibleSlots(KvCache cache, int b, int i, boolean sliding, int window, TokenTree tree, int[] slots) {
        int pos0 = cache.length(b);
        int n = 0;
        if (tree == null) {
            int pos = pos0 + i;
            if (sliding && cache.numbersRealTokens()) {
                // The window counts real tokens, as the row alone would number them.
                for (int j = pos; j >= 0 && n < window; j--) {
                    if (cache.valid(b, j)) {
                        slots[n++] = j;
                    }
                }
                reverse(slots, 0, n);
                return n;
            }
            for (int j = firstVisible(pos, sliding, window); j <= pos; j++) {
                if (cache.valid(b, j)) {
                    slots[n++] = j;
                }
            }
            return n;
        }
        int lo = firstVisible(pos0 + tree.depth(b, i), sliding, window);
        for (int j = lo; j < pos0; j++) {
            if (cache.valid(b, j)) {
                slots[n++] = j;
            }
        }
        int first = n;
        for (int a = i; a >= 0 && pos0 + tree.depth(b, a) >= lo; a = tree.parent(b, a)) {
            slots[n++] = pos0 + a;
        }
        reverse(slots, first, n);
        return n;
    }

    /** Reverses a[from, to). */
    private static void reverse(int[] a, int from, int to) {
        for (int x = from, y = to - 1; x < y; x++, y--) {
            int t = a[x];
            a[x] = a[y];
            a[y] = t;
        }
    }

    /**
     * Gradients of q, and of this step's keys and values, given dOut [B*T, heads*headDim] and the
     * weights recorded by the forward (training runs on an empty cache: positions start at 0).
     * Work is split by (row, kv head), so the query heads that share a kv head add into it in turn.
     * Each query's score gradients dz are found first; then dq sums key rows per query, and dk and
     * dv sum query and output-gradient rows per key, each in the order one axpy per (query, key)
     * pair added them.
     */
    public float[][] backward(float[] q, float[][][][] probs, float[] dOut, int batch, int tokens, KvCache cache, int layer,
                              boolean sliding, int window) {
        int group = heads / kvHeads;
        int qDim = heads * headDim;
        int kvDim = kvHeads * headDim;
        float[] dq = new float[batch * tokens * qDim];
        float[] dk = new float[batch * tokens * kvDim];
        float[] dv = new float[batch * tokens * kvDim];
        Parallel.forRange(batch * kvHeads, bk -> {
            int b = bk / kvHeads;
            int kh = bk % kvHeads;
            float[] keys = cache.keys(layer, b);
            float[] values = cache.values(layer, b);
            double[] dp = new double[tokens];
            // Per (head in the group, query): the keys its weights cover, and whether it saw any.
            int[] from = new int[group * tokens];
            int[] to = new int[group * tokens];
            boolean[] any = new boolean[group * tokens];
            float[] dz = new float[group * tokens * tokens];
            int[] rowsAt = new int[group * tokens];
            float[] weights = new float[group * tokens];
            for (int g = 0; g < group; g++) {
                int h = kh * group + g;
                for (int i = 0; i < tokens; i++) {
                    float[] p = probs[b][h][i];
                    int qOff = (b * tokens + i) * qDim + h * headDim;
                    int lo = firstVisible(i, sliding, window);
                    boolean seen = false;
                    for (int j = lo; j <= i; j++) {
                        seen |= cache.valid(b, j);
                    }
                    int gi = g * tokens + i;
                    any[gi] = seen;
                    from[gi] = seen ? lo : 0;
                    to[gi] = seen ? i : tokens - 1;
                    double sum = 0;
                    for (int j = from[gi]; j <= to[gi]; j++) {
                        if (p[j] != 0f) {
                            dp[j] = Gemm.dot(dOut, qOff, values, j * kvDim + kh * headDim, headDim);
                            sum += p[j] * dp[j];
                        }
                    }
                    if (!seen) {
                        continue;
                    }
                    int terms = 0;
                    for (int j = lo; j <= i; j++) {
                        if (p[j] == 0f) {
                            continue;
                        }
                        int kv = j * kvDim + kh * headDim;
                        double ds = p[j] * (dp[j] - sum);
                        if (softcap != 0) {
                            double capped = Ops.softcap(Gemm.dot(q, qOff, keys, kv, headDim) * scaling, softcap) / softcap;
                            ds *= 1 - capped * capped;
                        }
                        float d = (float) (ds * scaling);
                        dz[gi * tokens + j] = d;
                        rowsAt[terms] = kv;
                        weights[terms++] = d;
                    }
                    WeightedRows.add(dq, qOff, headDim, keys, rowsAt, weights, terms);
                }
            }
            // Key j gets dv from every query whose weights cover it and dk from those that saw any
            // key (their range then ends at the query itself): one scan gathers both term lists.
            int[] keyRows = new int[group * tokens];
            float[] keyWeights = new float[group * tokens];
            for (int j = 0; j < tokens; j++) {
                int vTerms = 0;
                int kTerms = 0;
                for (int g = 0; g < group; g++) {
                    int h = kh * group + g;
                    for (int i = 0; i < tokens; i++) {
                        int gi = g * tokens + i;
                        float pj = probs[b][h][i][j];
                        if (pj == 0f || j < from[gi] || j > to[gi]) {
                            continue;
                        }
                        int row = (b * tokens + i) * qDim + h * headDim;
                        rowsAt[vTerms] = row;
                        weights[vTerms++] = pj;
                        if (any[gi]) {
                            keyRows[kTerms] = row;
                            keyWeights[kTerms++] = dz[gi * tokens + j];
                        }
                    }
                }
                int kvOff = (b * tokens + j) * kvDim + kh * headDim;
                WeightedRows.add(dv, kvOff, headDim, dOut, rowsAt, weights, vTerms);
                WeightedRows.add(dk, kvOff, headDim, q, keyRows, keyWeights, kTerms);
            }
        });
        return new float[][] {dq, dk, dv};
    }
}
