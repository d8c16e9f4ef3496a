package dev.gemmalora.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Fast y[T, rows] = x[T, cols] W^T over all tokens of a batch ({@link GemmScalar} holds the plain
 * definitions). With several tokens, weight rows are widened and packed, KC columns at a time, into
 * 16-row panels laid out k-major in a per-thread scratch that stays in cache; a 6-token x 16-row
 * register tile then multiplies broadcast activations with two panel vectors per k, so there are no
 * horizontal sums and each weight vector serves six tokens. With one to three tokens (decoding) the
 * work is bound by reading the weights once, so rows are widened and dotted directly.
 */
public final class Gemm {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_256;
    private static final int LANES = F.length();
    private static final int MR = 6;
    private static final int NR = 16;
    private static final int KC = 256;
    private static final int NB = 64;
    /** Up to this many tokens, packing the weights costs more than it saves: BF16 rows are dotted in place. */
    private static final int DOT_MAX_TOKENS = 32;
    /** Rows widened at once on the decoding path: about 256 KiB of fp32. */
    private static final int DOT_BLOCK_FLOATS = 64 * 1024;
    private static final ThreadLocal<float[][]> SCRATCH = ThreadLocal.withInitial(() -> new float[3][0]);

    /** Reads n columns of a weight row starting at col0, widened to fp32, into dst[off..]. */
    interface RowSource {
        void read(int row, int col0, int n, float[] dst, int off);
    }

    /**
     * Fills one packed panel: pack[base + k*16 + r] = B[k0 + k][n0 + r] of the right-hand matrix
     * B[K, N] for k in [0, kc), r in [0, valid), zero for r >= valid.
     */
    interface Packer {
        void pack(int n0, int valid, int k0, int kc, float[] pack, int base, float[] tmp);
    }

    private Gemm() {
    }

    /** y[T, rows] = x[T, cols] * W^T. */
    public static void matmulT(float[] x, int tokens, Weight w, float[] y) {
        if (tokens <= DOT_MAX_TOKENS && w.dtype() == dev.gemmalora.io.DType.BF16 && w.cols() % (2 * LANES) == 0) {
            dotBf16(x, tokens, w, y);
            return;
        }
        matmulT(x, tokens, w.rows(), w.cols(), (r, k0, n, dst, off) -> Widen.segment(w, r, k0, n, dst, off), y);
    }

    /** y[T, rows] = x[T, cols] * w^T for a heap matrix w[rows, cols]. */
    public static void matmulT(float[] x, int tokens, float[] w, int rows, int cols, float[] y) {
        matmulT(x, tokens, rows, cols, (r, k0, n, dst, off) -> System.arraycopy(w, r * cols + k0, dst, off, n), y);
    }

    static void matmulT(float[] x, int tokens, int rows, int cols, RowSource src, float[] y) {
        if (tokens < 4) {
            dotPath(x, tokens, rows, cols, src, y);
            return;
        }
        Packer transposed = (n0, valid, k0, kc, pack, base, tmp) -> {
            for (int r = 0; r < NR; r++) {
                if (r < valid) {
                    src.read(n0 + r, k0, kc, tmp, 0);
                    for (int k = 0; k < kc; k++) {
                        pack[base + k * NR + r] = tmp[k];
                    }
                } else {
                    for (int k = 0; k < kc; k++) {
                        pack[base + k * NR + r] = 0f;
                    }
                }
            }
        };
        gemm(x, tokens, cols, rows, transposed, y, false);
    }

    /** dx[T, cols] += dy[T, rows] * W: the input gradient of y = x W^T, streaming W by rows. */
    public static void matmulAdd(float[] dy, int tokens, Weight w, float[] dx) {
        gemm(dy, tokens, w.rows(), w.cols(), rowPanels((r, k0, n, dst, off) -> Widen.segment(w, r, k0, n, dst, off)), dx, true);
    }

    /** dx[T, cols] += dy[T, rows] * w for a heap matrix w[rows, cols]. */
    public static void matmulAdd(float[] dy, int tokens, float[] w, int rows, int cols, float[] dx) {
        int c = cols;
        gemm(dy, tokens, rows, cols, rowPanels((r, k0, n, dst, off) -> System.arraycopy(w, r * c + k0, dst, off, n)), dx, true);
    }

    /** Panels of B = W itself: row k of W, 16 columns at a time, is already k-major. */
    private static Packer rowPanels(RowSource src) {
        return (n0, valid, k0, kc, pack, base, tmp) -> {
            for (int k = 0; k < kc; k++) {
                src.read(k0 + k, n0, valid, pack, base + k * NR);
                for (int r = valid; r < NR; r++) {
                    pack[base + k * NR + r] = 0f;
                }
            }
        };
    }

    /**
     * The launcher turns off the Vector API's per-access bounds checks (in isolation they cost the
     * 6x16 kernel about half its speed); every index the kernels form stays inside the sizes checked here, and the tests run
     * with the checks on.
     */
    private static void checkSizes(float[] x, int tokens, int xCols, float[] y, int yCols) {
        if (x.length < (long) tokens * xCols || y.length < (long) tokens * yCols) {
            throw new IllegalArgumentException("gemm operands too small: x " + x.length + " < " + tokens + " x " + xCols
                    + " or y " + y.length + " < " + tokens + " x " + yCols);
        }
    }

    /** y[T, n] (+)= x[T, kDim] * B[kDim, n] where B is reached through the packer. */
    private static void gemm(float[] x, int tokens, int kDim, int n, Packer packer, float[] y, boolean accumulate) {
        checkSizes(x, tokens, kDim, y, n);
        int tasks = (n + NB - 1) / NB;
        if ((long) tokens * n * kDim < 1 << 18) {
            for (int b = 0; b < tasks; b++) {
                packedBlock(x, tokens, kDim, n, packer, y, b, accumulate);
            }
            return;
        }
        Parallel.forRange(tasks, b -> packedBlock(x, tokens, kDim, n, packer, y, b, accumulate));
    }

    private static float[] scratch(int which, int n) {
        float[][] s = SCRATCH.get();
        if (s[which].length < n) {
            s[which] = new float[n];
        }
        return s[which];
    }

    private static void packedBlock(float[] x, int tokens, int cols, int rows, Packer packer, float[] y, int block,
                                    boolean accumulate) {
        int o0 = block * NB;
        int nb = Math.min(NB, rows - o0);
        int panels = (nb + NR - 1) / NR;
        float[] pack = scratch(0, panels * NR * KC);
        float[] tmp = scratch(1, KC);
        for (int k0 = 0; k0 < cols; k0 += KC) {
            int kc = Math.min(KC, cols - k0);
            for (int p = 0; p < panels; p++) {
                packer.pack(o0 + p * NR, Math.min(NR, nb - p * NR), k0, kc, pack, p * NR * kc, tmp);
            }
            boolean first = k0 == 0 && !accumulate;
            for (int t0 = 0; t0 < tokens; t0 += MR) {
                int m = Math.min(MR, tokens - t0);
                for (int p = 0; p < panels; p++) {
                    int valid = Math.min(NR, nb - p * NR);
                    int yOff = t0 * rows + o0 + p * NR;
                    int xOff = t0 * cols + k0;
                    if (m == MR && valid == NR) {
                        kernel6x16(x, xOff, cols, pack, p * NR * kc, kc, y, yOff, rows, first);
                    } else {
                        for (int u = 0; u < m; u++) {
                            kernel1x16(x, xOff + u * cols, pack, p * NR * kc, kc, y, yOff + u * rows, valid, first);
                        }
                    }
                }
            }
        }
    }

    private static void kernel6x16(float[] x, int x0, int xs, float[] pk, int p0, int kc, float[] y, int y0, int ys,
                                   boolean first) {
        FloatVector c00 = FloatVector.zero(F), c01 = FloatVector.zero(F);
        FloatVector c10 = FloatVector.zero(F), c11 = FloatVector.zero(F);
        FloatVector c20 = FloatVector.zero(F), c21 = FloatVector.zero(F);
        FloatVector c30 = FloatVector.zero(F), c31 = FloatVector.zero(F);
        FloatVector c40 = FloatVector.zero(F), c41 = FloatVector.zero(F);
        FloatVector c50 = FloatVector.zero(F), c51 = FloatVector.zero(F);
        int x1 = x0 + xs, x2 = x1 + xs, x3 = x2 + xs, x4 = x3 + xs, x5 = x4 + xs;
        for (int k = 0; k < kc; k++) {
            FloatVector b0 = FloatVector.fromArray(F, pk, p0 + k * NR);
            FloatVector b1 = FloatVector.fromArray(F, pk, p0 + k * NR + LANES);
            FloatVector a = FloatVector.broadcast(F, x[x0 + k]);
            c00 = a.fma(b0, c00);
            c01 = a.fma(b1, c01);
            a = FloatVector.broadcast(F, x[x1 + k]);
            c10 = a.fma(b0, c10);
            c11 = a.fma(b1, c11);
            a = FloatVector.broadcast(F, x[x2 + k]);
            c20 = a.fma(b0, c20);
            c21 = a.fma(b1, c21);
            a = FloatVector.broadcast(F, x[x3 + k]);
            c30 = a.fma(b0, c30);
            c31 = a.fma(b1, c31);
            a = FloatVector.broadcast(F, x[x4 + k]);
            c40 = a.fma(b0, c40);
            c41 = a.fma(b1, c41);
            a = FloatVector.broadcast(F, x[x5 + k]);
            c50 = a.fma(b0, c50);
            c51 = a.fma(b1, c51);
        }
        store(c00, y, y0, first);
        store(c01, y, y0 + LANES, first);
        store(c10, y, y0 + ys, first);
        store(c11, y, y0 + ys + LANES, first);
        store(c20, y, y0 + 2 * ys, first);
        store(c21, y, y0 + 2 * ys + LANES, first);
        store(c30, y, y0 + 3 * ys, first);
        store(c31, y, y0 + 3 * ys + LANES, first);
        store(c40, y, y0 + 4 * ys, first);
        store(c41, y, y0 + 4 * ys + LANES, first);
        store(c50, y, y0 + 5 * ys, first);
        store(c51, y, y0 + 5 * ys + LANES, first);
    }

    private static void store(FloatVector c, float[] y, int off, boolean first) {
        (first ? c : c.add(FloatVector.fromArray(F, y, off))).intoArray(y, off);
    }

    /** One token against one panel; writes only the first `valid` of its 16 rows. */
    private static void kernel1x16(float[] x, int x0, float[] pk, int p0, int kc, float[] y, int y0, int valid,
                                   boolean first) {
        FloatVector c0 = FloatVector.zero(F), c1 = FloatVector.zero(F);
        for (int k = 0; k < kc; k++) {
            FloatVector a = FloatVector.broadcast(F, x[x0 + k]);
            c0 = a.fma(FloatVector.fromArray(F, pk, p0 + k * NR), c0);
            c1 = a.fma(FloatVector.fromArray(F, pk, p0 + k * NR + LANES), c1);
        }
        float[] out = scratch(2, NR);
        c0.intoArray(out, 0);
        c1.intoArray(out, LANES);
        for (int r = 0; r < valid; r++) {
            y[y0 + r] = first ? out[r] : y[y0 + r] + out[r];
        }
    }

    /**
     * Decoding with BF16 weights: bound by reading the weights, so each row is widened in
     * registers straight from the mapped file and dotted with every token (four at a time), with
     * no copy.
     */
    private static void dotBf16(float[] x, int tokens, Weight w, float[] y) {
        int rows = w.rows();
        int cols = w.cols();
        checkSizes(x, tokens, cols, y, rows);
        int rb = 64;
        Parallel.forRange((rows + rb - 1) / rb, b -> {
            int end = Math.min(rows, (b + 1) * rb);
            for (int r = b * rb; r < end; r++) {
                long base = (long) r * cols * 2;
                int t = 0;
                for (; t + 4 <= tokens; t += 4) {
                    dotRow4(x, t, cols, w, base, y, rows, r);
                }
                for (; t < tokens; t++) {
                    y[t * rows + r] = dotRow1(x, t * cols, cols, w.data(), base);
                }
            }
        });
    }

    /** One BF16 row (at byte offset base) against one token. */
    private static float dotRow1(float[] x, int xo, int cols, java.lang.foreign.MemorySegment w, long base) {
        FloatVector a0 = FloatVector.zero(F);
        FloatVector a1 = FloatVector.zero(F);
        for (int k = 0; k < cols; k += 2 * LANES) {
            a0 = Widen.bf16(w, base + 2L * k).fma(FloatVector.fromArray(F, x, xo + k), a0);
            a1 = Widen.bf16(w, base + 2L * (k + LANES)).fma(FloatVector.fromArray(F, x, xo + k + LANES), a1);
        }
        return VectorMath.sum(a0.add(a1));
    }

    /** One BF16 row against four tokens: each widened weight vector serves all four. */
    private static void dotRow4(float[] x, int t0, int cols, Weight w, long base, float[] y, int rows, int r) {
        FloatVector a0 = FloatVector.zero(F), b0 = a0, a1 = a0, b1 = a0, a2 = a0, b2 = a0, a3 = a0, b3 = a0;
        int x0 = t0 * cols;
        int x1 = x0 + cols;
        int x2 = x1 + cols;
        int x3 = x2 + cols;
        for (int k = 0; k < cols; k += 2 * LANES) {
            FloatVector w0 = Widen.bf16(w.data(), base + 2L * k);
            FloatVector w1 = Widen.bf16(w.data(), base + 2L * (k + LANES));
            a0 = w0.fma(FloatVector.fromArray(F, x, x0 + k), a0);
            b0 = w1.fma(FloatVector.fromArray(F, x, x0 + k + LANES), b0);
            a1 = w0.fma(FloatVector.fromArray(F, x, x1 + k), a1);
            b1 = w1.fma(FloatVector.fromArray(F, x, x1 + k + LANES), b1);
            a2 = w0.fma(FloatVector.fromArray(F, x, x2 + k), a2);
            b2 = w1.fma(FloatVector.fromArray(F, x, x2 + k + LANES), b2);
            a3 = w0.fma(FloatVector.fromArray(F, x, x3 + k), a3);
            b3 = w1.fma(FloatVector.fromArray(F, x, x3 + k + LANES), b3);
        }
        y[t0 * rows + r] = VectorMath.sum(a0.add(b0));
        y[(t0 + 1) * rows + r] = VectorMath.sum(a1.add(b1));
        y[(t0 + 2) * rows + r] = VectorMath.sum(a2.add(b2));
        y[(t0 + 3) * rows + r] = VectorMath.sum(a3.add(b3));
    }

    /** Few tokens: each weight row is widened once and dotted with every token. */
    private static void dotPath(float[] x, int tokens, int rows, int cols, RowSource src, float[] y) {
        checkSizes(x, tokens, cols, y, rows);
        int rb = Math.max(1, Math.min(rows, DOT_BLOCK_FLOATS / cols));
        int blocks = (rows + rb - 1) / rb;
        Parallel.forRange(blocks, b -> {
            int o0 = b * rb;
            int n = Math.min(rb, rows - o0);
            float[] ws = scratch(0, n * cols);
            for (int r = 0; r < n; r++) {
                src.read(o0 + r, 0, cols, ws, r * cols);
            }
            for (int t = 0; t < tokens; t++) {
                for (int r = 0; r < n; r++) {
                    y[t * rows + o0 + r] = dot(x, t * cols, ws, r * cols, cols);
                }
            }
        });
    }

    /** dot(a[a0 .. a0+n), b[b0 .. b0+n)). */
    public static float dot(float[] a, int a0, float[] b, int b0, int n) {
        FloatVector acc = FloatVector.zero(F);
        int k = 0;
        int bound = F.loopBound(n);
        for (; k < bound; k += LANES) {
            acc = FloatVector.fromArray(F, a, a0 + k).fma(FloatVector.fromArray(F, b, b0 + k), acc);
        }
        float s = VectorMath.sum(acc);
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
