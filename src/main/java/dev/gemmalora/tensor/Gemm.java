package dev.gemmalora.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Fast matrix products over all tokens of a batch. A block of weight rows is widened once into a
 * per-thread fp32 scratch that stays in cache, then every token is multiplied against it with a
 * 4-token x 3-row register tile, so each loaded weight vector serves four tokens.
 * {@link GemmScalar} holds the plain definitions.
 */
public final class Gemm {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_256;
    private static final int LANES = F.length();
    /** Floats of widened weights per block: about 256 KiB, the size of a per-core L2 share. */
    private static final int BLOCK_FLOATS = 64 * 1024;
    private static final ThreadLocal<float[]> SCRATCH = ThreadLocal.withInitial(() -> new float[0]);

    private Gemm() {
    }

    /** y[T, rows] = x[T, cols] * W^T. */
    public static void matmulT(float[] x, int tokens, Weight w, float[] y) {
        int rows = w.rows();
        int cols = w.cols();
        int rb = rowBlock(cols);
        int blocks = (rows + rb - 1) / rb;
        Parallel.forRange(blocks, b -> {
            int o0 = b * rb;
            int n = Math.min(rb, rows - o0);
            float[] ws = scratch(n * cols);
            for (int r = 0; r < n; r++) {
                Widen.row(w, o0 + r, ws, r * cols);
            }
            tile(x, tokens, cols, ws, 0, n, y, rows, o0);
        });
    }

    /** y[T, rows] = x[T, cols] * w^T for a heap matrix w[rows, cols]. */
    public static void matmulT(float[] x, int tokens, float[] w, int rows, int cols, float[] y) {
        int rb = rowBlock(cols);
        int blocks = (rows + rb - 1) / rb;
        if ((long) tokens * rows * cols < 1 << 16) {
            tile(x, tokens, cols, w, 0, rows, y, rows, 0);
            return;
        }
        Parallel.forRange(blocks, b -> {
            int o0 = b * rb;
            tile(x, tokens, cols, w, o0 * cols, Math.min(rb, rows - o0), y, rows, o0);
        });
    }

    private static int rowBlock(int cols) {
        return Math.max(3, BLOCK_FLOATS / cols / 3 * 3);
    }

    static float[] scratch(int n) {
        float[] s = SCRATCH.get();
        if (s.length < n) {
            s = new float[n];
            SCRATCH.set(s);
        }
        return s;
    }

    /** y[t, yCol0 + r] = dot(x[t], w[wOff + r*cols ...]) for r in [0, wRows). */
    private static void tile(float[] x, int tokens, int cols, float[] w, int wOff, int wRows,
                             float[] y, int yStride, int yCol0) {
        int t = 0;
        for (; t + 4 <= tokens; t += 4) {
            int r = 0;
            for (; r + 3 <= wRows; r += 3) {
                kernel4x3(x, t * cols, cols, w, wOff + r * cols, y, t * yStride + yCol0 + r, yStride);
            }
            for (; r < wRows; r++) {
                for (int u = 0; u < 4; u++) {
                    y[(t + u) * yStride + yCol0 + r] = dot(x, (t + u) * cols, w, wOff + r * cols, cols);
                }
            }
        }
        for (; t < tokens; t++) {
            int r = 0;
            for (; r + 3 <= wRows; r += 3) {
                kernel1x3(x, t * cols, cols, w, wOff + r * cols, y, t * yStride + yCol0 + r);
            }
            for (; r < wRows; r++) {
                y[t * yStride + yCol0 + r] = dot(x, t * cols, w, wOff + r * cols, cols);
            }
        }
    }

    private static void kernel4x3(float[] x, int x0, int n, float[] w, int w0, float[] y, int y0, int ys) {
        FloatVector a00 = FloatVector.zero(F), a01 = FloatVector.zero(F), a02 = FloatVector.zero(F);
        FloatVector a10 = FloatVector.zero(F), a11 = FloatVector.zero(F), a12 = FloatVector.zero(F);
        FloatVector a20 = FloatVector.zero(F), a21 = FloatVector.zero(F), a22 = FloatVector.zero(F);
        FloatVector a30 = FloatVector.zero(F), a31 = FloatVector.zero(F), a32 = FloatVector.zero(F);
        int x1 = x0 + n, x2 = x1 + n, x3 = x2 + n;
        int w1 = w0 + n, w2 = w1 + n;
        int k = 0;
        int bound = F.loopBound(n);
        for (; k < bound; k += LANES) {
            FloatVector b0 = FloatVector.fromArray(F, w, w0 + k);
            FloatVector b1 = FloatVector.fromArray(F, w, w1 + k);
            FloatVector b2 = FloatVector.fromArray(F, w, w2 + k);
            FloatVector v = FloatVector.fromArray(F, x, x0 + k);
            a00 = v.fma(b0, a00);
            a01 = v.fma(b1, a01);
            a02 = v.fma(b2, a02);
            v = FloatVector.fromArray(F, x, x1 + k);
            a10 = v.fma(b0, a10);
            a11 = v.fma(b1, a11);
            a12 = v.fma(b2, a12);
            v = FloatVector.fromArray(F, x, x2 + k);
            a20 = v.fma(b0, a20);
            a21 = v.fma(b1, a21);
            a22 = v.fma(b2, a22);
            v = FloatVector.fromArray(F, x, x3 + k);
            a30 = v.fma(b0, a30);
            a31 = v.fma(b1, a31);
            a32 = v.fma(b2, a32);
        }
        float[] s = {
            a00.reduceLanes(VectorOperators.ADD), a01.reduceLanes(VectorOperators.ADD), a02.reduceLanes(VectorOperators.ADD),
            a10.reduceLanes(VectorOperators.ADD), a11.reduceLanes(VectorOperators.ADD), a12.reduceLanes(VectorOperators.ADD),
            a20.reduceLanes(VectorOperators.ADD), a21.reduceLanes(VectorOperators.ADD), a22.reduceLanes(VectorOperators.ADD),
            a30.reduceLanes(VectorOperators.ADD), a31.reduceLanes(VectorOperators.ADD), a32.reduceLanes(VectorOperators.ADD)};
        for (; k < n; k++) {
            for (int u = 0; u < 4; u++) {
                float xv = x[x0 + u * n + k];
                for (int r = 0; r < 3; r++) {
                    s[u * 3 + r] += xv * w[w0 + r * n + k];
                }
            }
        }
        for (int u = 0; u < 4; u++) {
            y[y0 + u * ys] = s[u * 3];
            y[y0 + u * ys + 1] = s[u * 3 + 1];
            y[y0 + u * ys + 2] = s[u * 3 + 2];
        }
    }

    private static void kernel1x3(float[] x, int x0, int n, float[] w, int w0, float[] y, int y0) {
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F), a2 = FloatVector.zero(F);
        int w1 = w0 + n, w2 = w1 + n;
        int k = 0;
        int bound = F.loopBound(n);
        for (; k < bound; k += LANES) {
            FloatVector v = FloatVector.fromArray(F, x, x0 + k);
            a0 = v.fma(FloatVector.fromArray(F, w, w0 + k), a0);
            a1 = v.fma(FloatVector.fromArray(F, w, w1 + k), a1);
            a2 = v.fma(FloatVector.fromArray(F, w, w2 + k), a2);
        }
        float s0 = a0.reduceLanes(VectorOperators.ADD);
        float s1 = a1.reduceLanes(VectorOperators.ADD);
        float s2 = a2.reduceLanes(VectorOperators.ADD);
        for (; k < n; k++) {
            s0 += x[x0 + k] * w[w0 + k];
            s1 += x[x0 + k] * w[w1 + k];
            s2 += x[x0 + k] * w[w2 + k];
        }
        y[y0] = s0;
        y[y0 + 1] = s1;
        y[y0 + 2] = s2;
    }

    /** dot(a[a0 .. a0+n), b[b0 .. b0+n)). */
    public static float dot(float[] a, int a0, float[] b, int b0, int n) {
        FloatVector acc = FloatVector.zero(F);
        int k = 0;
        int bound = F.loopBound(n);
        for (; k < bound; k += LANES) {
            acc = FloatVector.fromArray(F, a, a0 + k).fma(FloatVector.fromArray(F, b, b0 + k), acc);
        }
        float s = acc.reduceLanes(VectorOperators.ADD);
        for (; k < n; k++) {
            s += a[a0 + k] * b[b0 + k];
        }
        return s;
    }

    /** y[y0 .. y0+n) += alpha * x[x0 .. x0+n). */
    public static void axpy(float alpha, float[] x, int x0, float[] y, int y0, int n) {
        FloatVector a = FloatVector.broadcast(F, alpha);
        int k = 0;
        int bound = F.loopBound(n);
        for (; k < bound; k += LANES) {
            FloatVector.fromArray(F, x, x0 + k).fma(a, FloatVector.fromArray(F, y, y0 + k)).intoArray(y, y0 + k);
        }
        for (; k < n; k++) {
            y[y0 + k] += alpha * x[x0 + k];
        }
    }
}
