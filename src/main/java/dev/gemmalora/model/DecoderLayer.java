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
        Gemma2Config c = m.config();
        int n = batch * tokens;
        float[] h = Ops.rmsNorm(x, n, c.hidden(), inputNorm, c.rmsEps());
        float[] qs = q.forward(h, n);
        float[] ks = k.forward(h, n);
        float[] vs = v.forward(h, n);
        m.rope().apply(qs, n, tokens, c.heads(), cache.length(), 1);
        m.rope().apply(ks, n, tokens, c.kvHeads(), cache.length(), 1);
        cache.store(index, ks, vs, tokens);
        float[] att = m.attention().forward(qs, batch, tokens, cache, index, c.isSliding(index), c.slidingWindow(), null);
        float[] a = Ops.rmsNorm(o.forward(att, n), n, c.hidden(), postAttnNorm, c.rmsEps());
        Ops.addInPlace(a, x);
        float[] f = Ops.rmsNorm(a, n, c.hidden(), preFfwNorm, c.rmsEps());
        float[] g = gate.forward(f, n);
        float[] u = up.forward(f, n);
        for (int i = 0; i < g.length; i++) {
            g[i] = Ops.geluTanh(g[i]) * u[i];
        }
        float[] out = Ops.rmsNorm(down.forward(g, n), n, c.hidden(), postFfwNorm, c.rmsEps());
        Ops.addInPlace(out, a);
        return out;
    }
}
