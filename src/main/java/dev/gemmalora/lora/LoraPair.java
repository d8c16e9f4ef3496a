package dev.gemmalora.lora;

import dev.gemmalora.model.Adapter;
import dev.gemmalora.tensor.Gemm;

/**
 * One LoRA pair on a linear layer: delta(x) = scale * B (A x), A [r, in], B [out, r], fp32.
 * Dropout (training only) applies to the LoRA branch's input, as PEFT does.
 */
public final class LoraPair implements Adapter {
    final String module;
    final int r;
    final int in;
    final int out;
    final double scale;
    final float[] a;
    final float[] b;

    public LoraPair(String module, int r, int in, int out, double scale, float[] a, float[] b) {
        this.module = module;
        this.r = r;
        this.in = in;
        this.out = out;
        this.scale = scale;
        this.a = a;
        this.b = b;
    }

    public String module() {
        return module;
    }

    public float[] a() {
        return a;
    }

    public float[] b() {
        return b;
    }

    public int rank() {
        return r;
    }

    public double scale() {
        return scale;
    }

    @Override
    public void addForward(float[] x, int tokens, float[] y) {
        float[] u = new float[tokens * r];
        Gemm.matmulT(x, tokens, a, r, in, u);
        addUp(u, tokens, y);
    }

    /** y += scale * u B^T for u = A x [T, r]. */
    void addUp(float[] u, int tokens, float[] y) {
        float[] d = new float[tokens * out];
        Gemm.matmulT(u, tokens, b, out, r, d);
        float s = (float) scale;
        for (int i = 0; i < d.length; i++) {
            y[i] += s * d[i];
        }
    }
}
