package dev.gemmalora.model;

/** The element-wise pieces of the Gemma-2 forward: cheap next to the GEMMs, so plain loops. */
public final class Ops {
    private static final double SQRT_2_OVER_PI = Math.sqrt(2.0 / Math.PI);

    private Ops() {
    }

    /** RMSNorm with Gemma's (1 + w): y = x / sqrt(mean(x^2) + eps) * (1 + w), per row of width n. */
    public static float[] rmsNorm(float[] x, int rows, int n, float[] w, double eps) {
        float[] y = new float[rows * n];
        for (int t = 0; t < rows; t++) {
            int o = t * n;
            float ss = 0;
            for (int i = 0; i < n; i++) {
                ss += x[o + i] * x[o + i];
            }
            float r = (float) (1.0 / Math.sqrt(ss / n + eps));
            for (int i = 0; i < n; i++) {
                y[o + i] = x[o + i] * r * (1f + w[i]);
            }
        }
        return y;
    }

    /** gelu with the tanh approximation, as torch's gelu(approximate='tanh'). */
    public static float geluTanh(float x) {
        double inner = SQRT_2_OVER_PI * (x + 0.044715 * x * x * x);
        return (float) (0.5 * x * (1 + Math.tanh(inner)));
    }

    public static float softcap(float x, double cap) {
        return cap == 0 ? x : (float) (cap * Math.tanh(x / cap));
    }

    /** a[i] += b[i]. */
    public static void addInPlace(float[] a, float[] b) {
        for (int i = 0; i < a.length; i++) {
            a[i] += b[i];
        }
    }
}
