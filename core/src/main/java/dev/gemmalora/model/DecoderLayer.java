package dev.gemmalora.model;

/**
 * One Gemma decoder layer: attention and a GeGLU MLP, each with a residual, pre-normed (Gemma 1) or
 * sandwich-normed (Gemma 2 and 3: a norm after each sublayer too); Gemma 3 also normalizes each
 * query and key head before RoPE. The norms a generation lacks are null.
 */
public final class DecoderLayer {
    final int index;
    final Linear q;
    final Linear k;
    final Linear v;
    final Linear o;
    final Linear gate;
    final Linear up;
    final Linear down;
    final float[] inputNorm;
    final float[] postAttnNorm;
    final float[] preFfwNorm;
    final float[] postFfwNorm;
    final float[] qNorm;
    final float[] kNorm;

    DecoderLayer(int index, Linear q, Linear k, Linear v, Linear o, Linear gate, Linear up, Linear down,
                 float[] inputNorm, float[] postAttnNorm, float[] preFfwNorm, float[] postFfwNorm, float[] qNorm, float[] kNorm) {
        this.index = index;
        this.q = q;
        this.k = k;
        this.v = v;
        this.o = o;
        this.gate = gate;
        this.up = up;
        this.down = down;
        this.inputNorm = inputNorm;
        this.postAttnNorm = postAttnNorm;
        this.preFfwNorm = preFfwNorm;
        this.postFfwNorm = postFfwNorm;
        this.qNorm = qNorm;
        this.kNorm = kNorm;
    }

    public Linear[] projections() {
        return new Linear[] {q, k, v, o, gate, up, down};
    }

    /**
     * Inference on a padded batch: x holds only the real tokens, rows[i] being the index in B*T of
     * x's row i. Every op but attention works token by token, so padding is never projected;
     * attention sees queries, keys and values in the full layout (padding zero and masked), and
     * follows the tree when one is given. The layer's intermediates go to the arrays of buffers,
     * which one forward passes to every layer: fresh ones per layer were about 5 GB a scoring
     * batch of 8 x 128 at gemma-2-2b's shape, and the young collections they caused paused both
     * threads for about 3% of its time. The output is always a new array.
     */
    float[] forward(GemmaModel m, float[] x, int batch, int tokens, KvCache cache, int[] rows, TokenTree tree,
                    LayerTape buffers) {
        return forward(m, x, batch, tokens, cache, null, 0, rows, tree, null, false, buffers);
    }

    /**
     * The training forward: records what backward needs in the tape, overwriting the arrays it
     * holds from an earlier step, and writes the output into out when that is long enough
     * (seed fixes the adapters' dropout, so recomputing under gradient checkpointing reproduces it).
     * x holds the rows of B*T that rows lists (all of them when rows is null), as in inference.
     */
    float[] forward(GemmaModel m, float[] x, int batch, int tokens, KvCache cache, int[] rows, LayerTape tape, long seed,
                    float[] out) {
        return forward(m, x, batch, tokens, cache, tape, seed, rows, null, out, false, tape);
    }

    /**
     * Under gradient checkpointing, rebuilds the tape for backward after {@link LayerTape#load}
     * has put back what the layer kept: the norms, attention and the gate and up projections run
     * again (with the same dropout), while q, k, v, o and down come from the kept arrays and the
     * cache.
     */
    void replay(GemmaModel m, float[] x, int batch, int tokens, KvCache cache, int[] rows, LayerTape tape, long seed) {
        forward(m, x, batch, tokens, cache, tape, seed, rows, null, null, true, tape);
    }

    private float[] forward(GemmaModel m, float[] x, int batch, int tokens, KvCache cache, LayerTape tape, long seed, int[] rows,
                            TokenTree tree, float[] outBuf, boolean replay, LayerTape buffers) {
        GemmaConfig c = m.config();
        int full = batch * tokens;
        int n = rows == null ? full : rows.length;
        int hid = c.hidden();
        Adapter.Saved[] sv = tape == null ? null : tape.saved;
        LayerTape t = buffers;
        float[] h = Ops.rmsNorm(x, n, hid, inputNorm, c.rmsEps(), LayerTape.reuse(t.h, n * hid));
        float[] qs = replay ? t.q : queriesKeysValues(m, h, n, batch, tokens, cache, sv, seed, rows, tree, t);
        float[][][][] probs = tape == null ? null : tape.probs(batch, c.heads(), tokens, cache.length() + tokens);
        float[] att = Ops.gatherRows(m.attention().forward(qs, batch, tokens, cache, index, c.isSliding(index), c.slidingWindow(), probs,
                tree, LayerTape.reuse(t.att, full * c.qDim())), rows, c.qDim());
        float[] oOut = replay ? t.oOut : project(o, att, n, sv, 3, seed + 3, LayerTape.reuse(t.oOut, n * hid));
        float[] a = normOrCopy(oOut, n, hid, postAttnNorm, c.rmsEps(), LayerTape.reuse(t.a, n * hid));
        Ops.addInPlace(a, x, n * hid);
        float[] f = Ops.rmsNorm(a, n, hid, preFfwNorm, c.rmsEps(), LayerTape.reuse(t.f, n * hid));
        int inter = c.intermediate();
        float[] g = project(gate, f, n, sv, 4, seed + 4, LayerTape.reuse(t.g, n * inter));
        float[] u = project(up, f, n, sv, 5, seed + 5, LayerTape.reuse(t.u, n * inter));
        float[] act = Ops.geglu(g, u, LayerTape.reuse(t.act, n * inter), n * inter);
        float[] downOut = replay ? t.downOut : project(down, act, n, sv, 6, seed + 6, LayerTape.reuse(t.downOut, n * hid));
        t.x = x;
        t.h = h;
        t.q = qs;
        t.att = att;
        t.oOut = oOut;
        t.a = a;
        t.f = f;
        t.g = g;
        t.u = u;
        t.act = act;
        t.downOut = downOut;
        if (replay) {
            return null;
        }
        float[] out = normOrCopy(downOut, n, hid, postFfwNorm, c.rmsEps(), LayerTape.reuse(outBuf, n * hid));
        Ops.addInPlace(out, a, n * hid);
        return out;
    }

    /** RMSNorm of x's first rows x n into y, or (no norm here) a copy. */
    private static float[] normOrCopy(float[] x, int rows, int n, float[] w, double eps, float[] y) {
        if (w != null) {
            return Ops.rmsNorm(x, rows, n, w, eps, y);
        }
        System.arraycopy(x, 0, y, 0, rows * n);
        return y;
    }

    /** The gradient through normOrCopy: dy itself where there is no norm. */
    private static float[] normOrCopyBackward(float[] x, int rows, int n, float[] w, double eps, float[] dy, float[] dx) {
        return w == null ? dy : Ops.rmsNormBackward(x, rows, n, w, eps, dy, dx);
    }

    /** Queries, keys and values of h with RoPE applied; stores the keys and values in the cache, returns the queries. */
    private float[] queriesKeysValues(GemmaModel m, float[] h, int n, int batch, int tokens, KvCache cache, Adapter.Saved[] sv,
                                      long seed, int[] rows, TokenTree tree, LayerTape t) {
        GemmaConfig c = m.config();
        int full = batch * tokens;
        float[] qRaw = project(q, h, n, sv, 0, seed, LayerTape.reuse(qNorm != null ? t.qRaw : t.q, n * c.qDim()));
        float[] kRaw = project(k, h, n, sv, 1, seed + 1, LayerTape.reuse(kNorm != null ? t.kRaw : t.k, n * c.kvDim()));
        t.qRaw = qNorm != null ? qRaw : null;
        t.kRaw = kNorm != null ? kRaw : null;
        float[] qs = Ops.scatterRows(qNorm == null ? qRaw : Ops.rmsNorm(qRaw, n * c.heads(), c.headDim(), qNorm, c.rmsEps(),
                LayerTape.reuse(t.q, n * c.qDim())), rows, full, c.qDim());
        float[] ks = Ops.scatterRows(kNorm == null ? kRaw : Ops.rmsNorm(kRaw, n * c.kvHeads(), c.headDim(), kNorm, c.rmsEps(),
                LayerTape.reuse(t.k, n * c.kvDim())), rows, full, c.kvDim());
        float[] vs = Ops.scatterRows(project(v, h, n, sv, 2, seed + 2, LayerTape.reuse(t.v, n * c.kvDim())), rows, full, c.kvDim());
        t.k = ks;
        t.v = vs;
        int[] pos = tree != null ? tree.positions(cache.length()) : cache.stepPositions();
        if (pos == null) {
            m.rope(index).apply(qs, full, tokens, c.heads(), cache.length(), 1);
            m.rope(index).apply(ks, full, tokens, c.kvHeads(), cache.length(), 1);
        } else {
            m.rope(index).apply(qs, c.heads(), pos, 1);
            m.rope(index).apply(ks, c.kvHeads(), pos, 1);
        }
        cache.store(index, ks, vs, tokens);
        return qs;
    }

    /** The projection into y: the training forward (recording into saved) when saved is given. */
    private static float[] project(Linear l, float[] x, int tokens, Adapter.Saved[] saved, int slot, long seed, float[] y) {
        return saved == null ? l.forward(x, tokens, y) : l.forward(x, tokens, saved, slot, seed, y);
    }

    /**
     * Gradient of the layer's input given the gradient of its output (adapters accumulate theirs),
     * in one of the buffers' output arrays; the intermediates go to the buffers' scratch arrays.
     * The rows are the forward's: attention's gradients pass through the full B*T layout.
     */
    float[] backward(GemmaModel m, LayerTape t, float[] dOut, int batch, int tokens, KvCache cache, int[] rows,
                     GradientBuffers b) {
        GemmaConfig c = m.config();
        int full = batch * tokens;
        int n = rows == null ? full : rows.length;
        int hid = c.hidden();
        int nh = n * hid;
        int ni = n * c.intermediate();
        float[] da = b.hidden(0, nh);
        System.arraycopy(dOut, 0, da, 0, nh);
        float[] dAct = down.backward(normOrCopyBackward(t.downOut, n, hid, postFfwNorm, c.rmsEps(), dOut, b.hidden(1, nh)), n,
                t.saved[6], b.inter(0, ni));
        float[] dg = b.inter(1, ni);
        float[] du = b.inter(2, ni);
        Ops.gegluBackward(dAct, t.g, t.u, dg, du, ni);
        float[] df = gate.backward(dg, n, t.saved[4], b.hidden(1, nh));
        Ops.addInPlace(df, up.backward(du, n, t.saved[5], b.hidden(2, nh)), nh);
        Ops.addInPlace(da, Ops.rmsNormBackward(t.a, n, hid, preFfwNorm, c.rmsEps(), df, b.hidden(2, nh)), nh);
        float[] dx = b.output(dOut, nh);
        System.arraycopy(da, 0, dx, 0, nh);
        float[] dAtt = o.backward(normOrCopyBackward(t.oOut, n, hid, postAttnNorm, c.rmsEps(), da, b.hidden(1, nh)), n,
                t.saved[3], b.query(n * c.qDim()));
        float[][] dqkv = m.attention().backward(t.q, t.probs, Ops.scatterRows(dAtt, rows, full, c.qDim()), batch, tokens, cache,
                index, c.isSliding(index), c.slidingWindow());
        m.rope(index).apply(dqkv[0], full, tokens, c.heads(), 0, -1);
        m.rope(index).apply(dqkv[1], full, tokens, c.kvHeads(), 0, -1);
        float[] dq = Ops.gatherRows(dqkv[0], rows, c.qDim());
        float[] dk = Ops.gatherRows(dqkv[1], rows, c.kvDim());
        if (qNorm != null) {
            dq = Ops.rmsNormBackward(t.qRaw, n * c.heads(), c.headDim(), qNorm, c.rmsEps(), dq);
            dk = Ops.rmsNormBackward(t.kRaw, n * c.kvHeads(), c.headDim(), kNorm, c.rmsEps(), dk);
        }
        float[] dh = q.backward(dq, n, t.saved[0], b.hidden(1, nh));
        Ops.addInPlace(dh, k.backward(dk, n, t.saved[1], b.hidden(2, nh)), nh);
        Ops.addInPlace(dh, v.backward(Ops.gatherRows(dqkv[2], rows, c.kvDim()), n, t.saved[2], b.hidden(2, nh)), nh);
        Ops.addInPlace(dx, Ops.rmsNormBackward(t.x, n, hid, inputNorm, c.rmsEps(), dh, b.hidden(2, nh)), nh);
        return dx;
    }
}
