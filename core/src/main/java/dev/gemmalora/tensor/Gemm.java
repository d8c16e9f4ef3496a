package dev.gemmalora.tensor;

import dev.gemmalora.io.DType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.function.IntConsumer;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Fast y[T, rows] = x[T, cols] W^T over all tokens of a batch ({@link GemmScalar} holds the plain
 * definitions). The weights come pre-packed in panels of two vectors' rows ({@link Weight}: 16 rows
 * with AVX2, 32 with AVX-512); for each block of rows, KC columns of its panels are widened into a
 * per-thread fp32 scratch that stays in cache, and a 6-token x one-panel register tile multiplies
 * broadcast activations with two panel vectors per k, so there are no horizontal sums and each
 * weight vector serves six tokens (for a BF16 weight, five tokens packed k-major per k-step).
 * With AVX-512's 32 registers the BF16 tiles take two panels at once. With at most 8 tokens of a
 * BF16 weight (decoding, short contexts) panels are instead widened in registers as they stream
 * from memory. Both paths sum each KC block in the same order, so a token's result does not
 * depend on which path or batch computed it.
 *
 * <p>This class holds the entry points and the packed path's blocking; the register tiles are in
 * {@link PackedKernels}, the kernels that widen BF16 as they read in {@link StreamingKernels}, the
 * few-token paths in {@link FewTokenGemm} and the writing of tiles into the result in {@link TileStore}.
 */
public final class Gemm {
    private static final VectorSpecies<Float> F = Simd.F;
    private static final int LANES = Simd.LANES;
    static final int MR = 6;
    /**
     * Tokens per k-step in the packed layout {@link PackedKernels#kernel5} reads ({@link #packFives} for
     * activations, InputGradient for columns of W).
     */
    static final int PACKED = 5;
    private static final int NR = Weight.PANEL;
    /**
     * Columns per kernel call. 512 rather than 256: the tile's load-add-store of y, ~4% of a
     * training step's samples, comes half as often (paired runs at 512 tokens: faster in 7-8 of 10).
     */
    static final int KC = 512;
    private static final int NB = 64;
    /**
     * Whether the five-token kernel takes two panels at a time ({@link PackedKernels#kernel5Pair}): its 20
     * accumulators fit AVX-512's 32 vector registers, not AVX2's 16. Each broadcast token then
     * serves four vectors instead of two; paired runs at 128 tokens: 7% faster on gate, down
     * and lm_head (7-8 of 8).
     */
    static final boolean PAIRED = LANES >= 16;
    /**
     * Up to this many tokens, widening in registers (which overlaps reading the weights) beats
     * widening into the scratch once and running the faster fp32 kernel. Past eight the streaming
     * path widens each panel three times, or runs a six-row tile on five tokens: paired runs on
     * AVX2 (gate and down projections, 2 threads) had streaming 1.2-1.25x faster at 7 and 8
     * tokens and the packed path 1.1-1.66x faster at every count from 9 to 16.
     */
    private static final int STREAM_MAX_TOKENS = 8;
    /** Multiply-adds below which a GEMM runs on the calling thread: handing it out costs more. */
    private static final long PARALLEL_MIN = 1 << 18;
    /**
     * Floats 0: rows widened on the few-token path, 1: a packer's tmp, 2: the tile, 3: a task's
     * sums, 4: the caller's packed activations, 5: the second tile; segment 0: panels.
     */
    static final ThreadScratch SCRATCH = new ThreadScratch(6, 1);

    /** Reads n columns of a weight row starting at col0, widened to fp32, into dst[off..]. */
    interface RowSource {
        void read(int row, int col0, int n, float[] dst, int off);
    }

    /**
     * Fills one packed panel: pack[base + k*NR + r] = B[k0 + k][n0 + r] of the right-hand matrix
     * B[K, N] for k in [0, kc), r in [0, valid), zero for r >= valid. tmp is a per-thread scratch of
     * at least max(KC, NR * NR) floats.
     */
    interface Packer {
        void pack(int n0, int valid, int k0, int kc, MemorySegment pack, long base, float[] tmp);
    }

    private Gemm() {
    }

    /** y[T, rows] = x[T, cols] * W^T. */
    public static void matmulT(float[] x, int tokens, Weight w, float[] y) {
        w.data(); // packs the weight on first use, here on the calling thread
        if (tokens <= STREAM_MAX_TOKENS && w.dtype() == DType.BF16) {
            FewTokenGemm.stream(x, tokens, w, y);
            return;
        }
        int cols = w.cols();
        if (w.dtype() == DType.BF16) {
            gemm(x, tokens, cols, w.rows(), null, w.data(), y, false);
            return;
        }
        // An F32 panel is already k-major: KC columns of it are one contiguous run to copy.
        MemorySegment wd = w.data();
        gemm(x, tokens, cols, w.rows(), (n0, valid, k0, kc, pack, base, tmp) ->
                MemorySegment.copy(wd, ((long) (n0 / NR) * cols + k0) * NR * 4, pack, base * 4, (long) kc * NR * 4), null, y, false);
    }

    /** y[T, rows] = x[T, cols] * w^T for a heap matrix w[rows, cols]. */
    public static void matmulT(float[] x, int tokens, float[] w, int rows, int cols, float[] y) {
        matmulT(x, tokens, rows, cols, heapRows(w, cols), y, false);
    }

    /** y[T, rows] += x[T, cols] * w^T for a heap matrix w[rows, cols]. */
    public static void matmulTAdd(float[] x, int tokens, float[] w, int rows, int cols, float[] y) {
        matmulT(x, tokens, rows, cols, heapRows(w, cols), y, true);
    }

    /** The rows of a heap matrix w[*, cols]. */
    private static RowSource heapRows(float[] w, int cols) {
        return (r, k0, n, dst, off) -> System.arraycopy(w, r * cols + k0, dst, off, n);
    }

    private static void matmulT(float[] x, int tokens, int rows, int cols, RowSource src, float[] y, boolean accumulate) {
        if (tokens < 4) {
            FewTokenGemm.dotPath(x, tokens, rows, cols, src, y, accumulate);
            return;
        }
        Packer transposed = (n0, valid, k0, kc, pack, base, tmp) -> {
            for (int r = 0; r < NR; r++) {
                if (r < valid) {
                    src.read(n0 + r, k0, kc, tmp, 0);
                    for (int k = 0; k < kc; k++) {
                        pack.setAtIndex(ValueLayout.JAVA_FLOAT, base + k * NR + r, tmp[k]);
                    }
                } else {
                    for (int k = 0; k < kc; k++) {
                        pack.setAtIndex(ValueLayout.JAVA_FLOAT, base + k * NR + r, 0f);
                    }
                }
            }
        };
        gemm(x, tokens, cols, rows, transposed, null, y, accumulate);
    }

    /** dx[T, cols] += dy[T, rows] * W: the input gradient of y = x W^T. */
    public static void matmulAdd(float[] dy, int tokens, Weight w, float[] dx) {
        InputGradient.matmul(dy, tokens, w, dx, true);
    }

    /** dx[T, cols] = dy[T, rows] * W. */
    public static void matmul(float[] dy, int tokens, Weight w, float[] dx) {
        InputGradient.matmul(dy, tokens, w, dx, false);
    }

    /** dx[T, cols] = dy[T, rows] * w for a heap matrix w[rows, cols]. */
    public static void matmul(float[] dy, int tokens, float[] w, int rows, int cols, float[] dx) {
        gemm(dy, tokens, rows, cols, rowPanels(heapRows(w, cols)), null, dx, false);
    }

    /** dx[T, cols] += dy[T, rows] * w for a heap matrix w[rows, cols]. */
    public static void matmulAdd(float[] dy, int tokens, float[] w, int rows, int cols, float[] dx) {
        gemm(dy, tokens, rows, cols, rowPanels(heapRows(w, cols)), null, dx, true);
    }

    /** Panels of B = W itself: row k of W, NR columns at a time, is already k-major. */
    private static Packer rowPanels(RowSource src) {
        return (n0, valid, k0, kc, pack, base, tmp) -> {
            for (int k = 0; k < kc; k++) {
                src.read(k0 + k, n0, valid, tmp, 0);
                for (int r = valid; r < NR; r++) {
                    tmp[r] = 0f;
                }
                MemorySegment.copy(tmp, 0, pack, ValueLayout.JAVA_FLOAT, (base + (long) k * NR) * 4, NR);
            }
        };
    }

    /**
     * The launcher turns off the Vector API's per-access bounds checks (in isolation they cost the
     * six-token kernel about half its speed); every index the kernels form stays inside the sizes
     * checked here, and the tests run with the checks on.
     */
    static void checkSizes(float[] x, int tokens, int xCols, float[] y, int yCols) {
        if (x.length < (long) tokens * xCols || y.length < (long) tokens * yCols) {
            throw new IllegalArgumentException("gemm operands too small: x " + x.length + " < " + tokens + " x " + xCols
                    + " or y " + y.length + " < " + tokens + " x " + yCols);
        }
    }

    /**
     * y[T, n] (+)= x[T, kDim] * B[kDim, n] where B is reached through the packer, or is a BF16
     * weight's panels (bf16 not null, more than eight tokens).
     */
    private static void gemm(float[] x, int tokens, int kDim, int n, Packer packer, MemorySegment bf16, float[] y,
                             boolean accumulate) {
        checkSizes(x, tokens, kDim, y, n);
        int blocks = (n + NB - 1) / NB;
        long work = (long) tokens * n * kDim;
        // A narrow product (a LoRA factor: n is the rank) is one row block, which would run on one
        // thread: its tokens are split instead, each part packing the block for itself (not when
        // the product is too small to be handed out, where parts would only pack it again).
        int parts = bf16 == null && blocks < Parallel.threads() && work >= PARALLEL_MIN ? Parallel.threads() : 1;
        int span = ((tokens + parts - 1) / parts + MR - 1) / MR * MR;
        // A BF16 GEMM is one part (parts is 1), so every task starts at token 0, as the fives assume.
        float[] fives = bf16 == null ? null : packFives(x, tokens, kDim, work);
        forTasks(work, blocks * parts, i -> {
            int t0 = i % parts * span;
            packedBlock(x, fives, t0, Math.min(tokens, t0 + span), kDim, n, packer, bf16, y, i / parts, accumulate);
        });
    }

    /**
     * The tokens in whole groups of five, interleaved k-major:
     * fives[(g * cols + k) * 5 + i] = x[5g + i][k]. The five-token kernel then reads each
     * k-step's activations from one place, with no address arithmetic per token. Packed once per
     * call (a pass over x) and shared by every task.
     */
    static float[] packFives(float[] x, int tokens, int cols, long work) {
        int groups = tokens / PACKED;
        float[] fives = SCRATCH.floats(4, groups * PACKED * cols);
        forTasks(work, groups, g -> {
            int dst = g * PACKED * cols;
            int src = PACKED * g * cols;
            for (int k = 0; k < cols; k++, dst += PACKED) {
                fives[dst] = x[src + k];
                fives[dst + 1] = x[src + cols + k];
                fives[dst + 2] = x[src + 2 * cols + k];
                fives[dst + 3] = x[src + 3 * cols + k];
                fives[dst + 4] = x[src + 4 * cols + k];
            }
        });
        return fives;
    }

    /**
     * body(i) for i in [0, n): on the pool, or in order on the calling thread when the GEMM's
     * multiply-adds are too few to be worth handing out.
     */
    static void forTasks(long multiplyAdds, int n, IntConsumer body) {
        if (multiplyAdds >= PARALLEL_MIN) {
            Parallel.forRange(n, body);
            return;
        }
        for (int i = 0; i < n; i++) {
            body.accept(i);
        }
    }

    /** The kernels' 6-token x one-panel output tile, per thread. */
    static float[] tile() {
        return SCRATCH.floats(2, MR * NR);
    }

    /** The tile of {@link PackedKernels#kernel5Pair}'s second panel, per thread. */
    static float[] secondTile() {
        return SCRATCH.floats(5, MR * NR);
    }

    /**
     * One task: NB rows of the result for tokens [tStart, tEnd). For a BF16 weight (more than
     * eight tokens) the first five-token tile widens the panels as it multiplies them, storing the
     * widened columns for the other tiles: the widening then overlaps arithmetic instead of being
     * a pass of its own (7% of scoring's time as one). Where {@link #PAIRED}, that tile and the
     * five-token tiles run two panels at a time. The widened panels are in row-pair order
     * ({@link Widen}), so every tile of a BF16 weight is zipped back before it is stored: paired
     * runs against row-order widening, gate_proj at 5, 9, 30 and 128 tokens 1.18, 1.19, 1.17 and
     * 1.00-1.04x, 16 and 512 tokens 0.97 and 0.99x, down, q and a 32000-row matrix 1.01-1.04x.
     *
     * <p>The KC blocks' partial sums gather in a per-thread buffer, tokens x NB contiguous, and y
     * is written once at the end. Adding each tile into y itself touched six rows a whole y row
     * apart (1 MB for the vocabulary projection) once per KC block, a cache and TLB miss each:
     * 4% of scoring's time went to those stores. The sums are the same, in the same order.
     */
    private static void packedBlock(float[] x, float[] fives, int tStart, int tEnd, int cols, int rows, Packer packer,
                                    MemorySegment bf16, float[] y, int block, boolean accumulate) {
        int o0 = block * NB;
        int nb = Math.min(NB, rows - o0);
        int panels = (nb + NR - 1) / NR;
        int tokens = tEnd - tStart;
        MemorySegment pack = SCRATCH.aligned(0, panels * NR * KC);
        float[] tmp = SCRATCH.floats(1, Math.max(KC, NR * NR));
        float[] tile = tile();
        float[] sums = SCRATCH.floats(3, tokens * NB);
        if (accumulate) {
            copyRows(y, tStart * rows + o0, rows, sums, 0, NB, tokens, nb);
        }
        for (int k0 = 0; k0 < cols; k0 += KC) {
            int kc = Math.min(KC, cols - k0);
            boolean first = k0 == 0 && !accumulate;
            int t0 = 0;
            if (bf16 != null) {
                float[] tile2 = secondTile();
                int q = 0;
                for (; PAIRED && q + 2 <= panels; q += 2) {
                    long off = ((long) (o0 / NR + q) * cols + k0) * NR * 2;
                    StreamingKernels.stream5Pair(fives, k0 * PACKED, bf16, off, (long) cols * NR * 2, kc, tile, tile2, pack, q * NR * kc, NR * kc);
                    TileStore.storeRowPairs(tile, PACKED, NR, sums, q * NR, NB, first);
                    TileStore.storeRowPairs(tile2, PACKED, NR, sums, (q + 1) * NR, NB, first);
                }
                for (int p = q; p < panels; p++) {
                    long off = ((long) (o0 / NR + p) * cols + k0) * NR * 2;
                    StreamingKernels.stream5(fives, k0 * PACKED, bf16, off, kc, tile, pack, p * NR * kc);
                    TileStore.storeRowPairs(tile, PACKED, NR, sums, p * NR, NB, first);
                }
                t0 += PACKED;
                for (int g = 1; t0 + PACKED <= tokens; g++, t0 += PACKED) {
                    int p = 0;
                    for (; PAIRED && p + 2 <= panels; p += 2) {
                        PackedKernels.kernel5Pair(fives, (g * cols + k0) * PACKED, pack, p * NR * kc, NR * kc, kc, tile, tile2);
                        TileStore.storeRowPairs(tile, PACKED, NR, sums, t0 * NB + p * NR, NB, first);
                        TileStore.storeRowPairs(tile2, PACKED, NR, sums, t0 * NB + (p + 1) * NR, NB, first);
                    }
                    for (; p < panels; p++) {
                        PackedKernels.kernel5(fives, (g * cols + k0) * PACKED, pack, p * NR * kc, kc, tile);
                        TileStore.storeRowPairs(tile, PACKED, NR, sums, t0 * NB + p * NR, NB, first);
                    }
                }
            } else {
                for (int p = 0; p < panels; p++) {
                    packer.pack(o0 + p * NR, Math.min(NR, nb - p * NR), k0, kc, pack, p * NR * kc, tmp);
                }
            }
            for (int m; t0 < tokens; t0 += m) {
                m = tileRows(tokens - t0);
                for (int p = 0; p < panels; p++) {
                    if (m > 4) {
                        PackedKernels.kernel6(x, (tStart + t0) * cols + k0, cols, m, pack, p * NR * kc, kc, tile);
                    } else {
                        PackedKernels.kernel4(x, (tStart + t0) * cols + k0, cols, m, pack, p * NR * kc, kc, tile);
                    }
                    if (bf16 == null) {
                        TileStore.store(tile, m, NR, sums, t0 * NB + p * NR, NB, first);
                    } else {
                        TileStore.storeRowPairs(tile, m, NR, sums, t0 * NB + p * NR, NB, first);
                    }
                }
            }
        }
        copyRows(sums, 0, NB, y, tStart * rows + o0, rows, tokens, nb);
    }

    /**
     * Tokens in the next tile when `left` remain: sixes, with what is left past them run by the
     * four-row kernel instead of a six-row call on repeated tokens (128 tokens are 20 sixes and
     * two fours, 128 rows computed rather than 132).
     */
    static int tileRows(int left) {
        return left == 7 || left == 8 ? 4 : Math.min(MR, left);
    }

    /** n rows of len floats from src (row stride ss) to dst (row stride ds). */
    private static void copyRows(float[] src, int s0, int ss, float[] dst, int d0, int ds, int n, int len) {
        for (int i = 0; i < n; i++) {
            System.arraycopy(src, s0 + i * ss, dst, d0 + i * ds, len);
        }
    }

    /**
     * dot(a[a0 .. a0+n), b[b0 .. b0+n)). Four accumulators: with one, each FMA waits for the
     * previous (attention's 256-long dots ran at an eighth of the FMA rate).
     */
    public static float dot(float[] a, int a0, float[] b, int b0, int n) {
        FloatVector acc = FloatVector.zero(F);
        FloatVector acc1 = acc;
        FloatVector acc2 = acc;
        FloatVector acc3 = acc;
        int k = 0;
        for (; k <= n - 4 * LANES; k += 4 * LANES) {
            acc = FloatVector.fromArray(F, a, a0 + k).fma(FloatVector.fromArray(F, b, b0 + k), acc);
            acc1 = FloatVector.fromArray(F, a, a0 + k + LANES).fma(FloatVector.fromArray(F, b, b0 + k + LANES), acc1);
            acc2 = FloatVector.fromArray(F, a, a0 + k + 2 * LANES).fma(FloatVector.fromArray(F, b, b0 + k + 2 * LANES), acc2);
            acc3 = FloatVector.fromArray(F, a, a0 + k + 3 * LANES).fma(FloatVector.fromArray(F, b, b0 + k + 3 * LANES), acc3);
        }
        int bound = F.loopBound(n);
        for (; k < bound; k += LANES) {
            acc = FloatVector.fromArray(F, a, a0 + k).fma(FloatVector.fromArray(F, b, b0 + k), acc);
        }
        float s = VectorMath.sum(acc.add(acc1).add(acc2.add(acc3)));
        for (; k < n; k++) {
            s += a[a0 + k] * b[b0 + k];
        }
        return s;
    }
}
