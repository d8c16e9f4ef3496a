package dev.gemmalora.lora;

import dev.gemmalora.model.Adapter;
import dev.gemmalora.tensor.Gemm;
import dev.gemmalora.tensor.TransposedProduct;

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
    final float[] gradA;
    final float[] gradB;
    private double dropout;
    /**
     * The dropped-out input (and in backward then the gradient reaching it), per thread: a layer's
     * seven pairs would otherwise allocate about 140 MB of these per training step at 512 tokens,
     * over half of what the step allocates, and each young collection that this fills pauses
     * both threads. A pair uses it only within one call, so the pairs can share it.
     */
    private static final ThreadLocal<float[]> SCRATCH = ThreadLocal.withInitial(() -> new float[0]);

    public LoraPair(String module, int r, int in, int out, double scale, float[] a, float[] b) {
        this.module = module;
        this.r = r;
        this.in = in;
        this.out = out;
        this.scale = scale;
        this.a = a;
        this.b = b;
        this.gradA = new float[a.length];
        this.gradB = new float[b.length];
    }

    /** Dropout probability on the LoRA input during training (PEFT's lora_dropout). */
    public void setDropout(double p) {
        this.dropout = p;
    }

    public float[] gradA() {
        return gradA;
    }

    public float[] gradB() {
        return gradB;
    }

    public void zeroGrad() {
        java.util.Arrays.fill(gradA, 0f);
        java.util.Arrays.fill(gradB, 0f);
    }

    /**
     * The layer's input (the tape holds it anyway), the dropout seed and u = A xd. The dropped-out
     * input is not kept: backward redraws the mask from the seed.
     */
    record Saved(float[] x, long seed, float[] u) implements Adapter.Saved {
    }

    @Override
    public Adapter.Saved addForwardTrain(float[] x, int tokens, float[] y, long seed) {
        float[] u = new float[tokens * r];
        Gemm.matmulT(dropped(x, tokens * in, seed), tokens, a, r, in, u);
        addUp(u, tokens, y);
        return new Saved(x, seed, u);
    }

    /**
     * The first n floats of x with dropout applied and scaled by 1/(1-p), in the thread's scratch
     * (valid until the next call that uses the scratch), or x itself without dropout. x may be a
     * reused tape array longer than n.
     */
    private float[] dropped(float[] x, int n, long seed) {
        if (dropout == 0) {
            return x;
        }
        float[] xd = scratch(n);
        DropoutMask.apply(x, xd, n, seed, dropout);
        return xd;
    }

    private static float[] scratch(int n) {
        float[] s = SCRATCH.get();
        if (s.length < n) {
            s = new float[n];
            SCRATCH.set(s);
        }
        return s;
    }

    /**
     * dB += s dy^T u, du = s dy B, dA += du^T xd, dx += (du A) masked and scaled like the input.
     */
    @Override
    public void backward(Adapter.Saved saved, float[] dy, int tokens, float[] dx) {
        Saved sv = (Saved) saved;
        float s = (float) scale;
        float[] du = new float[tokens * r];
        Gemm.matmulAdd(dy, tokens, b, out, r, du);
        for (int i = 0; i < du.length; i++) {
            du[i] *= s;
        }
        // Weight gradients as products over the tokens: dA += du^T xd, dB^T = s u^T dy.
        TransposedProduct.add(du, r, dropped(sv.x(), tokens * in, sv.seed()), tokens, in, gradA);
        float[] gbt = new float[r * out];
        TransposedProduct.add(sv.u(), r, dy, tokens, out, gbt);
        for (int o = 0; o < out; o++) {
            for (int j = 0; j < r; j++) {
                gradB[o * r + j] += s * gbt[j * out + o];
            }
        }
        if (dropout == 0) {
            Gemm.matmulAdd(du, tokens, a, r, in, dx);
            return;
        }
        float[] dxd = scratch(tokens * in);
        Gemm.matmul(du, tokens, a, r, in, dxd);
        DropoutMask.addMasked(dxd, dx, tokens * in, sv.seed(), dropout);
    }

    public String module() {
        return module;
    }

    public float[] a() {
        return a;
    }

    public int rank() {
        return r;
    }

    public int in() {
        return in;
    }

    public int out() {
        return out;
    }

    /** What B A is multiplied by: alpha / r, or alpha / sqrt(r) for rsLoRA, with the module's patterns. */
    public double scale() {
        return scale;
    }

    public float[] b() {
        return b;
    }

    @Override
    public void addForward(float[] x, int tokens, float[] y) {
        float[] u = new float[tokens * r];
        Gemm.matmulT(x, tokens, a, r, in, u);
        addUp(u, tokens, y);
    }

    /** y += (scale u) B^T for u = A x [T, r]: the scale goes on the small factor, the GEMM adds into y. */
    void addUp(float[] u, int tokens, float[] y) {
        float[] su = new float[u.length];
        float s = (float) scale;
        for (int i = 0; i < u.length; i++) {
            su[i] = s * u[i];
        }
        Gemm.matmulTAdd(su, tokens, b, out, r, y);
    }
}
