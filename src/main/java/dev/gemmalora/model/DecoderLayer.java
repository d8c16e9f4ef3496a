package dev.gemmalora.model;

/** One Gemma-2 decoder layer: sandwich-normed attention and GeGLU MLP, each with a residual. */
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

    DecoderLayer(int index, Linear q, Linear k, Linear v, Linear o, Linear gate, Linear up, Linear down,
                 float[] inputNorm, float[] postAttnNorm, float[] preFfwNorm, float[] postFfwNorm) {
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
    }

    public Linear[] projections() {
        return new Linear[] {q, k, v, o, gate, up, down};
    }

    /** x[B*T, hidden] -> the layer's output; new keys and values are stored in the cache. */
    float[] forward(Gemma2Model m, float[] x, int batch, int tokens, KvCache cache) {
        return forward(m, x, batch, tokens, cache, null, 0, null, null);
    }

    /**
     * Inference on a padded batch: x holds only the real tokens, rows[i] being the index in B*T of
     * x's row i. Every op but attention works token by token, so padding is never projected;
     * attention sees queries, keys and values in the full layout (padding zero and masked), and
     * follows the tree when one is given.
     */
    float[] forward(Gemma2Model m, float[] x, int batch, int tokens, KvCache cache, int[] rows, TokenTree tree) {
        return forward(m, x, batch, tokens, cache, null, 0, rows, tree);
    }

    float[] forward(Gemma2Model m, float[] x, int batch, int tokens, KvCache cache, LayerTape tape, long seed) {
        return forward(m, x, batch, tokens, cache, tape, seed, null, null);
    }

    /**
     * The forward pass; with a tape it also records what backward needs (seed fixes the adapters'
     * dropout, so recomputing under gradient checkpointing reproduces it).
     */
    private float[] forward(Gemma2Model m, float[] x, int batch, int tokens, KvCache cache, LayerTape tape, long seed, int[] rows,
                            TokenTree tree) {
        Gemma2Config c = m.config();
        int full = batch * tokens;
        int n = rows == null ? full : rows.length;
        Adapter.Saved[] sv = tape == null ? null : tape.saved;
        float[] h = Ops.rmsNorm(x, n, c.hidden(), inputNorm, c.rmsEps());
        float[] qs = Ops.scatterRows(q.forward(h, n, sv, 0, seed), rows, full, c.qDim());
        float[] ks = Ops.scatterRows(k.forward(h, n, sv, 1, seed + 1), rows, full, c.kvDim());
        float[] vs = Ops.scatterRows(v.forward(h, n, sv, 2, seed + 2), rows, full, c.kvDim());
        if (tree == null) {
            m.rope().apply(qs, full, tokens, c.heads(), cache.length(), 1);
            m.rope().apply(ks, full, tokens, c.kvHeads(), cache.length(), 1);
        } else {
            int[] pos = tree.positions(cache.length());
            m.rope().apply(qs, c.heads(), pos, 1);
            m.rope().apply(ks, c.kvHeads(), pos, 1);
        }
        cache.store(index, ks, vs, tokens);
        float[][][][] probs = tape == null ? null : new float[batch][c.heads()][tokens][cache.length() + tokens];
        float[] att = Ops.gatherRows(m.attention().forward(qs, batch, tokens, cache, index, c.isSliding(index), c.slidingWindow(), probs,
                tree), rows, c.qDim());
        float[] oOut = o.forward(att, n, sv, 3, seed + 3);
        float[] a = Ops.rmsNorm(oOut, n, c.hidden(), postAttnNorm, c.rmsEps());
        Ops.addInPlace(a, x);
        float[] f = Ops.rmsNorm(a, n, c.hidden(), preFfwNorm, c.rmsEps());
        float[] g = gate.forward(f, n, sv, 4, seed + 4);
        float[] u = up.forward(f, n, sv, 5, seed + 5);
        float[] act = Ops.geglu(g, u);
        float[] downOut = down.forward(act, n, sv, 6, seed + 6);
        float[] out = Ops.rmsNorm(downOut, n, c.hidden(), postFfwNorm, c.rmsEps());
        Ops.addInPlace(out, a);
        if (tape != null) {
            tape.x = x;
            tape.h = h;
            tape.q = qs;
            tape.probs = probs;
            tape.att = att;
            tape.oOut = oOut;
            tape.a = a;
            tape.f = f;
            tape.g = g;
            tape.u = u;
            tape.downOut = downOut;
        }
        return out;
    }

    /** Gradient of the layer's input given the gradient of its output (adapters accumulate theirs). */
    float[] backward(Gemma2Model m, LayerTape t, float[] dOut, int batch, int tokens, KvCache cache) {
        Gemma2Config c = m.config();
        int n = batch * tokens;
        int hid = c.hidden();
        float[] da = dOut.clone();
        float[] dAct = down.backward(Ops.rmsNormBackward(t.downOut, n, hid, postFfwNorm, c.rmsEps(), dOut), n, t.saved[6]);
        float[] dg = new float[dAct.length];
        float[] du = new float[dAct.length];
        Ops.gegluBackward(dAct, t.g, t.u, dg, du);
        float[] df = gate.backward(dg, n, t.saved[4]);
        Ops.addInPlace(df, up.backward(du, n, t.saved[5]));
        Ops.addInPlace(da, Ops.rmsNormBackward(t.a, n, hid, preFfwNorm, c.rmsEps(), df));
        float[] dx = da.clone();
        float[] dAtt = o.backward(Ops.rmsNormBackward(t.oOut, n, hid, postAttnNorm, c.rmsEps(), da), n, t.saved[3]);
        float[][] dqkv = m.attention().backward(t.q, t.probs, dAtt, batch, tokens, cache, index, c.isSliding(index),
                c.slidingWindow());
        m.rope().apply(dqkv[0], n, tokens, c.heads(), 0, -1);
        m.rope().apply(dqkv[1], n, tokens, c.kvHeads(), 0, -1);
        float[] dh = q.backward(dqkv[0], n, t.saved[0]);
        Ops.addInPlace(dh, k.backward(dqkv[1], n, t.saved[1]));
        Ops.addInPlace(dh, v.backward(dqkv[2], n, t.saved[2]));
        Ops.addInPlace(dx, Ops.rmsNormBackward(t.x, n, hid, inputNorm, c.rmsEps(), dh));
        return dx;
    }
}
