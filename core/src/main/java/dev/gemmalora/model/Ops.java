package dev.gemmalora.model;

import dev.gemmalora.tensor.Simd;
import dev.gemmalora.tensor.Parallel;
import dev.gemmalora.tensor.VectorMath;
import java.util.function.IntConsumer;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

/**
 * The element-wise pieces of the Gemma-2 forward: cheap next to the GEMMs, so plain loops; the
 * norms run their rows on the pool, and GeGLU (an exp per element) is also vectorized.
 */
public final class Ops {
    private static final double SQRT_2_OVER_PI = Math.sqrt(2.0 / Math.PI);

    private Ops() {
    }

    /** RMSNorm with Gemma's (1 + w): y = x / sqrt(mean(x^2) + eps) * (1 + w), per row of width n. */
    public static float[] rmsNorm(float[] x, int rows, int n, float[] w, double eps) {
        return rmsNorm(x, rows, n, w, eps, new float[rows * n]);
    }

    /** {@link #rmsNorm} into y, which it returns. */
    static float[] rmsNorm(float[] x, int rows, int n, float[] w, double eps, float[] y) {
        forRowGroups(rows, t -> {
            int o = t * n;
            float ss = 0;
            for (int i = 0; i < n; i++) {
                ss += x[o + i] * x[o + i];
            }
            float r = (float) (1.0 / Math.sqrt(ss / n + eps));
            for (int i = 0; i < n; i++) {
                y[o + i] = x[o + i] * r * (1f + w[i]);
            }
        });
        return y;
    }

    /** Rows per task of the norms: a row is a few microseconds, so small batches stay on one thread. */
    private static final int ROW_GROUP = 16;

    /**
     * row(t) for every row, groups of rows on the pool: each row is computed exactly as it would be
     * alone, so the result does not depend on the split. (On one thread the norms of a training
     * step took ~1% of it while the other core waited.)
     */
    private static void forRowGroups(int rows, IntConsumer row) {
        Parallel.forRange((rows + ROW_GROUP - 1) / ROW_GROUP, g -> {
            for (int t = g * ROW_GROUP, end = Math.min(rows, t + ROW_GROUP); t < end; t++) {
                row.accept(t);
            }
        });
    }

    /** gelu with the tanh approximation, as torch's gelu(approximate='tanh'). */
    public static float geluTanh(float x) {
        double inner = SQRT_2_OVER_PI * (x + 0.044715 * x * x * x);
        return (float) (0.5 * x * (1 + Math.tanh(inner)));
    }

    /** d gelu_tanh / dx. */
    public static float geluTanhGrad(float x) {
        double x3 = 0.044715 * x * x * x;
        double t = Math.tanh(SQRT_2_OVER_PI * (x + x3));
        return (float) (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x));
    }

    /**
     * Input gradient of {@link #rmsNorm}: with r = 1/sqrt(mean(x^2)+eps), n = x r, g = dy (1+w),
     * dx = r (g - n mean(g n)).
     */
    public static float[] rmsNormBackward(float[] x, int rows, int n, float[] w, double eps, float[] dy) {
        return rmsNormBackward(x, rows, n, w, eps, dy, new float[rows * n]);
    }

    /** {@link #rmsNormBackward(float[], int, int, float[], double, float[])} into dx, which it returns. */
    public static float[] rmsNormBackward(float[] x, int rows, int n, float[] w, double eps, float[] dy, float[] dx) {
        forRowGroups(rows, t -> {
            int o = t * n;
            double ss = 0;
            for (int i = 0; i < n; i++) {
                ss += (double) x[o + i] * x[o + i];
            }
            double r = 1.0 / Math.sqrt(ss / n + eps);
            double dot = 0;
            for (int i = 0; i < n; i++) {
                dot += dy[o + i] * (1.0 + w[i]) * x[o + i] * r;
            }
            double mean = dot / n;
            for (int i = 0; i < n; i++) {
                double g = dy[o + i] * (1.0 + w[i]);
                dx[o + i] = (float) (r * (g - x[o + i] * r * mean));
            }
        });
        return dx;
    }

    public static float softcap(float x, double cap) {
        return cap == 0 ? x : (float) (cap * Math.tanh(x / cap));
    }

    /** a[i] += b[i] for the first n elements (either array may be a longer, reused one). */
    public static void addInPlace(float[] a, float[] b, int n) {
        for (int i = 0; i < n; i++) {
            a[i] += b[i];
        }
    }

    /** The given rows of x[*, width], in order; x itself when rows is null. */
    public static float[] gatherRows(float[] x, int[] rows, int width) {
        if (rows == null) {
            return x;
        }
        float[] out = new float[rows.length * width];
        for (int i = 0; i < rows.length; i++) {
            System.arraycopy(x, rows[i] * width, out, i * width, width);
        }
        return out;
    }

    /** x's rows placed at rows[i] of a zero [fullRows, width] array; x itself when rows is null. */
    public static float[] scatterRows(float[] x, int[] rows, int fullRows, int width) {
        if (rows == null) {
            return x;
        }
        float[] out = new float[fullRows * width];
        for (int i = 0; i < rows.length; i++) {
            System.arraycopy(x, i * width, out, rows[i] * width, width);
        }
        return out;
    }

    /** Elements per task of the element-wise loops below (an exp per element makes them worth two threads). */
    private static final int CHUNK = 1 << 14;
    private static final VectorSpecies<Float> F = Simd.F;

    /** GeGLU: gelu_tanh(g) * u, element-wise; {@link #geluTanh} is its scalar twin. */
    public static float[] geglu(float[] g, float[] u) {
        return geglu(g, u, new float[g.length], g.length);
    }

    /** {@link #geglu} of the first n elements into act, which it returns. */
    static float[] geglu(float[] g, float[] u, float[] act, int n) {
        Parallel.forRange((n + CHUNK - 1) / CHUNK, c -> {
            int i = c * CHUNK;
            int end = Math.min(n, i + CHUNK);
            for (; i <= end - F.length(); i += F.length()) {
                geglu(g, u, act, i, F.maskAll(true));
            }
            if (i < end) {
                geglu(g, u, act, i, F.indexInRange(i, end));
            }
        });
        return act;
    }

    /**
     * One vector of {@link #geglu} at i, in the lanes of m. A last part shorter than a vector is
     * masked rather than left to the scalar twin, which differs by an ulp: the element at the end
     * of one batch would otherwise differ from the same element inside a longer one.
     */
    private static void geglu(float[] g, float[] u, float[] act, int i, VectorMask<Float> m) {
        FloatVector x = FloatVector.fromArray(F, g, i, m);
        x.div(VectorMath.geluDenominator(x)).mul(FloatVector.fromArray(F, u, i, m)).intoArray(act, i, m);
    }

    /**
     * Gradients of {@link #geglu} with respect to g and u in the first n elements, given that of its
     * output; {@link #geluTanhGrad} is the scalar twin.
     */
    public static void gegluBackward(float[] dAct, float[] g, float[] u, float[] dg, float[] du, int n) {
        Parallel.forRange((n + CHUNK - 1) / CHUNK, c -> {
            int i = c * CHUNK;
            int end = Math.min(n, i + CHUNK);
            for (; i <= end - F.length(); i += F.length()) {
                gegluGrad(dAct, g, u, dg, du, i, F.maskAll(true));
            }
            if (i < end) {
                gegluGrad(dAct, g, u, dg, du, i, F.indexInRange(i, end));
            }
        });
    }

    /** One vector of {@link #gegluBackward} at i, in the lanes of m (masked at the end as in {@link #geglu}). */
    private static void gegluGrad(float[] dAct, float[] g, float[] u, float[] dg, float[] du, int i, VectorMask<Float> m) {
        FloatVector x = FloatVector.fromArray(F, g, i, m);
        FloatVector d = VectorMath.geluDenominator(x);
        FloatVector dy = FloatVector.fromArray(F, dAct, i, m);
        dy.mul(FloatVector.fromArray(F, u, i, m)).mul(VectorMath.geluGrad(x, d)).intoArray(dg, i, m);
        dy.mul(x.div(d)).intoArray(du, i, m);
    }
}
