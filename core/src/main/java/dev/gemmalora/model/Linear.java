package dev.gemmalora.model;

import dev.gemmalora.tensor.Gemm;
import dev.gemmalora.tensor.Weight;

/** A frozen bias-free projection y = x W^T, with an optional adapter added to its output. */
public final class Linear {
    private final String module;
    private final Weight weight;
    private Adapter adapter;

    public Linear(String module, Weight weight) {
        this.module = module;
        this.weight = weight;
    }

    /** The module path as HF names it, e.g. model.layers.0.self_attn.q_proj. */
    public String module() {
        return module;
    }

    public Weight weight() {
        return weight;
    }

    public int in() {
        return weight.cols();
    }

    public int out() {
        return weight.rows();
    }

    public Adapter adapter() {
        return adapter;
    }

    public void setAdapter(Adapter adapter) {
        this.adapter = adapter;
    }

    public float[] forward(float[] x, int tokens) {
        return forward(x, tokens, new float[tokens * out()]);
    }

    /** The inference forward into y (every element overwritten), which it returns. */
    public float[] forward(float[] x, int tokens, float[] y) {
        Gemm.matmulT(x, tokens, weight, y);
        if (adapter != null) {
            adapter.addForward(x, tokens, y);
        }
        return y;
    }

    /**
     * Training forward into y (every element overwritten), which it returns: saved[slot] receives
     * what the adapter needs for backward (null without one).
     */
    public float[] forward(float[] x, int tokens, Adapter.Saved[] saved, int slot, long seed, float[] y) {
        Gemm.matmulT(x, tokens, weight, y);
        saved[slot] = adapter == null ? null : adapter.addForwardTrain(x, tokens, y, seed);
        return y;
    }

    /**
     * dx = dy W (+ the adapter's share) into dx (its first tokens * in() floats, overwritten), which
     * it returns; the frozen W gets no gradient.
     */
    public float[] backward(float[] dy, int tokens, Adapter.Saved saved, float[] dx) {
        Gemm.matmul(dy, tokens, weight, dx);
        if (adapter != null) {
            adapter.backward(saved, dy, tokens, dx);
        }
        return dx;
    }
}
