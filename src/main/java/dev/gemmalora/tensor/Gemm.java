package dev.gemmalora.tensor;

import dev.gemmalora.io.DType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.function.IntConsumer;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Fast y[T, rows] = x[T, cols] W^T over all tokens of a batch ({@link GemmScalar} holds the plain
 * definitions). The weights come pre-packed in panels of two vectors' rows ({@link Weight}: 16 rows
 * with AVX2, 32 with AVX-512); for each block of rows, KC columns of its panels are widened into a
 * per-thread fp32 scratch that stays in cache, and a 6-token x one-panel register tile multiplies
 * broadcast activations with two panel vectors per k, so there are no horizontal sums and each
 * weight vector serves six tokens (for a BF16 weight, after the first six, five tokens packed
 * k-major per k-step). With AVX-512's 32 registers the BF16 tiles take two panels at once. With
 * at most 8 tokens of a BF16 weight (decoding, short contexts) panels are instead widened in
 * registers as they stream from memory. Both paths sum each KC block in the same order, so a token's result
 * does not depend on which path or batch computed it.
 */
public final class Gemm {
    private static final VectorSpecies<Float> F = Simd.F;
    private static final int LANES = Simd.LANES;
    private static final int MR = 6;
    /**
     * Tokens per k-step in the packed layout {@link #kernel5} reads ({@link #packFives} for
     * activations, InputGradient for columns of W).
     */
    static final int PACKED = 5;
    private static final int NR = Weight.PANEL;
    /**
     * Columns per kernel call. 512 rather than 256: the tile's load-add-store of y, ~4% of a
     * training step's samples, comes half as often (paired runs at 512 tokens: faster in 7-8 of 10).
     */
    private static final int KC = 512;
    private static final int NB = 64;
    /**
     * Whether the five-token kernel takes two panels at a time ({@link #kernel5Pair}): its 20
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
    /** Panels per task on the streaming path. */
    private static final int STREAM_PANELS = 8;
    /** Rows widened at once on the few-token path for heap matrices: about 256 KiB of fp32. */
    private static final int DOT_BLOCK_FLOATS = 64 * 1024;
    /** Multiply-adds below which a GEMM runs on the calling thread: handing it out costs more. */
    private static final long PARALLEL_MIN = 1 << 18;
    /**
     * Floats 0: rows widened on the few-token path, 1: a packer's tmp, 2: the tile, 3: a task's
     * sums, 4: the caller's packed activations, 5: the second tile; segment 0: panels.
     */
    private static final ThreadScratch SCRATCH = new ThreadScratch(6, 1);

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
            stream(x, tokens, w, y);
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
            dotPath(x, tokens, rows, cols, src, y, accumulate);
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
     * weight's panels (bf16 not null, more than six tokens).
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
     * The tokens after the first six, in whole groups of five, interleaved k-major:
     * fives[(g * cols + k) * 5 + i] = x[6 + 5g + i][k]. The five-token kernel then reads each
     * k-step's activations from one place, with no address arithmetic per token. Packed once per
     * call (a pass over x) and shared by every task.
     */
    private static float[] packFives(float[] x, int tokens, int cols, long work) {
        int groups = (tokens - MR) / PACKED;
        float[] fives = SCRATCH.floats(4, groups * PACKED * cols);
        forTasks(work, groups, g -> {
            int dst = g * PACKED * cols;
            int src = (MR + PACKED * g) * cols;
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

    /** The tile of {@link #kernel5Pair}'s second panel, per thread. */
    static float[] secondTile() {
        return SCRATCH.floats(5, MR * NR);
    }

    /**
     * One task: NB rows of the result for tokens [tStart, tEnd). For a BF16 weight (more than
     * six tokens) the first token tile widens the panels as it multiplies them, storing the
     * widened columns for the other tiles: the widening then overlaps arithmetic instead of being
     * a pass of its own (7% of scoring's time as one). Where {@link #PAIRED}, that tile and the
     * five-token tiles run two panels at a time.
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
                    stream6Pair(x, tStart * cols + k0, cols, bf16, off, (long) cols * NR * 2, kc, tile, tile2, pack, q * NR * kc, NR * kc);
                    store(tile, MR, NR, sums, q * NR, NB, first);
                    store(tile2, MR, NR, sums, (q + 1) * NR, NB, first);
                }
                for (int p = q; p < panels; p++) {
                    long off = ((long) (o0 / NR + p) * cols + k0) * NR * 2;
                    stream6(x, tStart * cols + k0, cols, MR, bf16, off, kc, tile, pack, p * NR * kc);
                    store(tile, MR, NR, sums, p * NR, NB, first);
                }
                t0 += MR;
                for (int g = 0; t0 + PACKED <= tokens; g++, t0 += PACKED) {
                    int p = 0;
                    for (; PAIRED && p + 2 <= panels; p += 2) {
                        kernel5Pair(fives, (g * cols + k0) * PACKED, pack, p * NR * kc, NR * kc, kc, tile, tile2);
                        store(tile, PACKED, NR, sums, t0 * NB + p * NR, NB, first);
                        store(tile2, PACKED, NR, sums, t0 * NB + (p + 1) * NR, NB, first);
                    }
                    for (; p < panels; p++) {
                        kernel5(fives, (g * cols + k0) * PACKED, pack, p * NR * kc, kc, tile);
                        store(tile, PACKED, NR, sums, t0 * NB + p * NR, NB, first);
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
                        kernel6(x, (tStart + t0) * cols + k0, cols, m, pack, p * NR * kc, kc, tile);
                    } else {
                        kernel4(x, (tStart + t0) * cols + k0, cols, m, pack, p * NR * kc, kc, tile);
                    }
                    store(tile, m, NR, sums, t0 * NB + p * NR, NB, first);
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
     * m (1..6) tokens against one packed panel, into tile. With fewer than six tokens the last one
     * is repeated and the extra results dropped: cheaper than a narrower kernel that would reload
     * the panel per token. The callers store the tile, so the kernel has no branch of its own: the
     * full-or-partial test here was compiled for one side first, then deoptimized and the whole
     * kernel recompiled (JFR: unstable_if), which is one way its speed varied from run to run.
     */
    static void kernel6(float[] x, int x0, int xs, int m, MemorySegment pk, long p0, int kc, float[] tile) {
        FloatVector c00 = FloatVector.zero(F), c01 = FloatVector.zero(F);
        FloatVector c10 = FloatVector.zero(F), c11 = FloatVector.zero(F);
        FloatVector c20 = FloatVector.zero(F), c21 = FloatVector.zero(F);
        FloatVector c30 = FloatVector.zero(F), c31 = FloatVector.zero(F);
        FloatVector c40 = FloatVector.zero(F), c41 = FloatVector.zero(F);
        FloatVector c50 = FloatVector.zero(F), c51 = FloatVector.zero(F);
        int x1 = x0 + Math.min(1, m - 1) * xs;
        int x2 = x0 + Math.min(2, m - 1) * xs;
        int x3 = x0 + Math.min(3, m - 1) * xs;
        int x4 = x0 + Math.min(4, m - 1) * xs;
        int x5 = x0 + Math.min(5, m - 1) * xs;
        for (int k = 0; k < kc; k++) {
            FloatVector b0 = FloatVector.fromMemorySegment(F, pk, (p0 + k * NR) * 4, ByteOrder.LITTLE_ENDIAN);
            FloatVector b1 = FloatVector.fromMemorySegment(F, pk, (p0 + k * NR + LANES) * 4, ByteOrder.LITTLE_ENDIAN);
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
        c00.intoArray(tile, 0);
        c01.intoArray(tile, LANES);
        c10.intoArray(tile, NR);
        c11.intoArray(tile, NR + LANES);
        c20.intoArray(tile, 2 * NR);
        c21.intoArray(tile, 2 * NR + LANES);
        c30.intoArray(tile, 3 * NR);
        c31.intoArray(tile, 3 * NR + LANES);
        c40.intoArray(tile, 4 * NR);
        c41.intoArray(tile, 4 * NR + LANES);
        c50.intoArray(tile, 5 * NR);
        c51.intoArray(tile, 5 * NR + LANES);
    }

    /**
     * Five tokens, packed k-major from a0 ({@link #packFives}), against one packed panel, into
     * tile: {@link #kernel6}'s sums for each token. Ten accumulators leave C2 registers to
     * spare, so it compiles to 23 instructions per 10 FMAs without spilling, where six packed
     * tokens spilled an accumulator; with its operands in cache it ran 4-12% faster per FMA than
     * the six-row kernel reading tokens from their rows.
     */
    static void kernel5(float[] x, int a0, MemorySegment pk, long p0, int kc, float[] tile) {
        FloatVector c00 = FloatVector.zero(F), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
        FloatVector c30 = c00, c31 = c00, c40 = c00, c41 = c00;
        long pb = p0 * 4;
        for (int i = a0, end = a0 + kc * PACKED; i < end; i += PACKED, pb += 2 * 4 * LANES) {
            FloatVector b0 = FloatVector.fromMemorySegment(F, pk, pb, ByteOrder.LITTLE_ENDIAN);
            FloatVector b1 = FloatVector.fromMemorySegment(F, pk, pb + 4 * LANES, ByteOrder.LITTLE_ENDIAN);
            FloatVector a = FloatVector.broadcast(F, x[i]);
            c00 = a.fma(b0, c00);
            c01 = a.fma(b1, c01);
            a = FloatVector.broadcast(F, x[i + 1]);
            c10 = a.fma(b0, c10);
            c11 = a.fma(b1, c11);
            a = FloatVector.broadcast(F, x[i + 2]);
            c20 = a.fma(b0, c20);
            c21 = a.fma(b1, c21);
            a = FloatVector.broadcast(F, x[i + 3]);
            c30 = a.fma(b0, c30);
            c31 = a.fma(b1, c31);
            a = FloatVector.broadcast(F, x[i + 4]);
            c40 = a.fma(b0, c40);
            c41 = a.fma(b1, c41);
        }
        c00.intoArray(tile, 0);
        c01.intoArray(tile, LANES);
        c10.intoArray(tile, NR);
        c11.intoArray(tile, NR + LANES);
        c20.intoArray(tile, 2 * NR);
        c21.intoArray(tile, 2 * NR + LANES);
        c30.intoArray(tile, 3 * NR);
        c31.intoArray(tile, 3 * NR + LANES);
        c40.intoArray(tile, 4 * NR);
        c41.intoArray(tile, 4 * NR + LANES);
    }

    /**
     * {@link #kernel5} on two panels at once, the second `next` floats after the first: each
     * broadcast token meets four vectors. Its sums go to tile and tile2.
     */
    static void kernel5Pair(float[] x, int a0, MemorySegment pk, long p0, long next, int kc, float[] tile, float[] tile2) {
        FloatVector c00 = FloatVector.zero(F), c01 = c00, c02 = c00, c03 = c00, c10 = c00, c11 = c00, c12 = c00, c13 = c00;
        FloatVector c20 = c00, c21 = c00, c22 = c00, c23 = c00, c30 = c00, c31 = c00, c32 = c00, c33 = c00;
        FloatVector c40 = c00, c41 = c00, c42 = c00, c43 = c00;
        long pb = p0 * 4;
        long qb = (p0 + next) * 4;
        for (int i = a0, end = a0 + kc * PACKED; i < end; i += PACKED, pb += 2 * 4 * LANES, qb += 2 * 4 * LANES) {
            FloatVector b0 = FloatVector.fromMemorySegment(F, pk, pb, ByteOrder.LITTLE_ENDIAN);
            FloatVector b1 = FloatVector.fromMemorySegment(F, pk, pb + 4 * LANES, ByteOrder.LITTLE_ENDIAN);
            FloatVector b2 = FloatVector.fromMemorySegment(F, pk, qb, ByteOrder.LITTLE_ENDIAN);
            FloatVector b3 = FloatVector.fromMemorySegment(F, pk, qb + 4 * LANES, ByteOrder.LITTLE_ENDIAN);
            FloatVector a = FloatVector.broadcast(F, x[i]);
            c00 = a.fma(b0, c00);
            c01 = a.fma(b1, c01);
            c02 = a.fma(b2, c02);
            c03 = a.fma(b3, c03);
            a = FloatVector.broadcast(F, x[i + 1]);
            c10 = a.fma(b0, c10);
            c11 = a.fma(b1, c11);
            c12 = a.fma(b2, c12);
            c13 = a.fma(b3, c13);
            a = FloatVector.broadcast(F, x[i + 2]);
            c20 = a.fma(b0, c20);
            c21 = a.fma(b1, c21);
            c22 = a.fma(b2, c22);
            c23 = a.fma(b3, c23);
            a = FloatVector.broadcast(F, x[i + 3]);
            c30 = a.fma(b0, c30);
            c31 = a.fma(b1, c31);
            c32 = a.fma(b2, c32);
            c33 = a.fma(b3, c33);
            a = FloatVector.broadcast(F, x[i + 4]);
            c40 = a.fma(b0, c40);
            c41 = a.fma(b1, c41);
            c42 = a.fma(b2, c42);
            c43 = a.fma(b3, c43);
        }
        c00.intoArray(tile, 0);
        c01.intoArray(tile, LANES);
        c10.intoArray(tile, NR);
        c11.intoArray(tile, NR + LANES);
        c20.intoArray(tile, 2 * NR);
        c21.intoArray(tile, 2 * NR + LANES);
        c30.intoArray(tile, 3 * NR);
        c31.intoArray(tile, 3 * NR + LANES);
        c40.intoArray(tile, 4 * NR);
        c41.intoArray(tile, 4 * NR + LANES);
        c02.intoArray(tile2, 0);
        c03.intoArray(tile2, LANES);
        c12.intoArray(tile2, NR);
        c13.intoArray(tile2, NR + LANES);
        c22.intoArray(tile2, 2 * NR);
        c23.intoArray(tile2, 2 * NR + LANES);
        c32.intoArray(tile2, 3 * NR);
        c33.intoArray(tile2, 3 * NR + LANES);
        c42.intoArray(tile2, 4 * NR);
        c43.intoArray(tile2, 4 * NR + LANES);
    }

    /**
     * m (1..4) tokens against one packed panel, into tile: {@link #kernel6}'s sums with a third
     * fewer accumulators, for the tokens left past the last whole tile.
     */
    static void kernel4(float[] x, int x0, int xs, int m, MemorySegment pk, long p0, int kc, float[] tile) {
        FloatVector c00 = FloatVector.zero(F), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
        int x1 = x0 + Math.min(1, m - 1) * xs;
        int x2 = x0 + Math.min(2, m - 1) * xs;
        int x3 = x0 + (m - 1) * xs;
        for (int k = 0; k < kc; k++) {
            FloatVector b0 = FloatVector.fromMemorySegment(F, pk, (p0 + k * NR) * 4, ByteOrder.LITTLE_ENDIAN);
            FloatVector b1 = FloatVector.fromMemorySegment(F, pk, (p0 + k * NR + LANES) * 4, ByteOrder.LITTLE_ENDIAN);
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
        }
        c00.intoArray(tile, 0);
        c01.intoArray(tile, LANES);
        c10.intoArray(tile, NR);
        c11.intoArray(tile, NR + LANES);
        c20.intoArray(tile, 2 * NR);
        c21.intoArray(tile, 2 * NR + LANES);
        c30.intoArray(tile, 3 * NR);
        c31.intoArray(tile, 3 * NR + LANES);
    }

    /** The first m rows and `valid` columns of a tile into y (adding unless first). */
    static void store(float[] tile, int m, int valid, float[] y, int y0, int ys, boolean first) {
        if (valid == NR) {
            storeFullTile(tile, m, y, y0, ys, first);
        } else {
            storeTile(tile, m, valid, y, y0, ys, first);
        }
    }

    /**
     * The first m rows of a tile, all NR columns, into y. Kept out of the kernel: inlined there,
     * the loads of y for the add were left as calls that box their vectors (the kernel had used up
     * C2's inlining budget). Not folded into {@link #storeTile}: with its variable column bound
     * that took 8% of a training step.
     */
    private static void storeFullTile(float[] tile, int m, float[] y, int y0, int ys, boolean first) {
        for (int i = 0; i < m; i++) {
            for (int h = 0; h < NR; h += LANES) {
                FloatVector c = FloatVector.fromArray(F, tile, i * NR + h);
                int off = y0 + i * ys + h;
                if (first) {
                    c.intoArray(y, off);
                } else {
                    c.add(FloatVector.fromArray(F, y, off)).intoArray(y, off);
                }
            }
        }
    }

    /**
     * The first m token rows and `valid` columns of an NR-wide tile into y (adding unless first):
     * whole vectors where they fit (the last token tile of a batch, LoRA's 8-row factors), the rest
     * by element. For one token, valid may reach 4 NR: four panels' results side by side.
     */
    private static void storeTile(float[] tile, int m, int valid, float[] y, int y0, int ys, boolean first) {
        for (int i = 0; i < m; i++) {
            int r = 0;
            for (; r + LANES <= valid; r += LANES) {
                FloatVector c = FloatVector.fromArray(F, tile, i * NR + r);
                int off = y0 + i * ys + r;
                if (first) {
                    c.intoArray(y, off);
                } else {
                    c.add(FloatVector.fromArray(F, y, off)).intoArray(y, off);
                }
            }
            for (; r < valid; r++) {
                int o = y0 + i * ys + r;
                y[o] = first ? tile[i * NR + r] : tile[i * NR + r] + y[o];
            }
        }
    }

    /**
     * Few tokens, BF16: each KC block of a panel is read from memory once, widened in registers and
     * used for every token while it sits in L1, so reading the weights overlaps the arithmetic.
     */
    private static void stream(float[] x, int tokens, Weight w, float[] y) {
        int rows = w.rows();
        int cols = w.cols();
        checkSizes(x, tokens, cols, y, rows);
        int panels = Weight.panels(rows);
        MemorySegment seg = w.data();
        Parallel.forRange((panels + STREAM_PANELS - 1) / STREAM_PANELS, b -> {
            float[] tile = tile();
            MemorySegment widened = SCRATCH.aligned(0, NR * KC);
            int end = Math.min(panels, (b + 1) * STREAM_PANELS);
            int p = b * STREAM_PANELS;
            if (tokens == 1) {
                for (; p + 4 <= end; p += 4) {
                    for (int k0 = 0; k0 < cols; k0 += KC) {
                        long i = ((long) p * cols + k0) * NR;
                        stream1FourPanels(x, k0, seg, i * 2, (long) cols * NR * 2, Math.min(KC, cols - k0), tile);
                        storeTile(tile, 1, Math.min(4 * NR, rows - p * NR), y, p * NR, rows, k0 == 0);
                    }
                }
            }
            for (; p < end; p++) {
                int valid = Math.min(NR, rows - p * NR);
                for (int k0 = 0; k0 < cols; k0 += KC) {
                    int kc = Math.min(KC, cols - k0);
                    long i = ((long) p * cols + k0) * NR;
                    // Tiles of near-equal size (8 tokens as 4 + 4, not 6 + 2, where the 2 cost as much as 4).
                    // The first tile widens the panel and keeps it; the second (at most STREAM_MAX_TOKENS = 8
                    // tokens, so at most four) reads it widened with the four-row kernel.
                    int tiles = (tokens + MR - 1) / MR;
                    for (int q = 0, t0 = 0, m; q < tiles; q++, t0 += m) {
                        m = (tokens - t0) / (tiles - q);
                        if (q > 0) {
                            kernel4(x, t0 * cols + k0, cols, m, widened, 0, kc, tile);
                        } else if (m > 4) {
                            stream6(x, t0 * cols + k0, cols, m, seg, i * 2, kc, tile, widened, 0);
                        } else if (m > 1) {
                            stream4(x, t0 * cols + k0, cols, m, seg, i * 2, kc, tile, tiles > 1, widened, 0);
                        } else {
                            stream1(x, t0 * cols + k0, seg, i * 2, kc, tile);
                        }
                        storeTile(tile, m, valid, y, t0 * rows + p * NR, rows, k0 == 0);
                    }
                }
            }
        });
    }

    /**
     * m (5..6) tokens against kc columns of a BF16 panel from byte offset off, summed as
     * {@link #kernel6} sums, into tile; the widened panel is also stored to pack from float index
     * p0, for {@link #kernel6} to reuse (decoding has no use for it and writes it to scratch: two
     * stores per column cost nothing next to reading the weights). The kernels take the bare
     * segment: reaching it through the Weight (a dtype test per load) measured a third slower.
     */
    private static void stream6(float[] x, int x0, int xs, int m, MemorySegment w, long off, int kc, float[] tile,
                                   MemorySegment pack, long p0) {
        FloatVector c00 = FloatVector.zero(F), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
        FloatVector c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
        int x1 = x0 + xs;
        int x2 = x1 + xs;
        int x3 = x2 + xs;
        int x4 = x3 + xs;
        int x5 = x0 + (m - 1) * xs;
        for (int k = 0; k < kc; k++, off += 2 * NR) {
            FloatVector b0 = Widen.bf16(w, off);
            FloatVector b1 = Widen.bf16(w, off + 2 * LANES);
            b0.intoMemorySegment(pack, (p0 + k * NR) * 4, ByteOrder.LITTLE_ENDIAN);
            b1.intoMemorySegment(pack, (p0 + k * NR + LANES) * 4, ByteOrder.LITTLE_ENDIAN);
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
        c00.intoArray(tile, 0);
        c01.intoArray(tile, LANES);
        c10.intoArray(tile, NR);
        c11.intoArray(tile, NR + LANES);
        c20.intoArray(tile, 2 * NR);
        c21.intoArray(tile, 2 * NR + LANES);
        c30.intoArray(tile, 3 * NR);
        c31.intoArray(tile, 3 * NR + LANES);
        c40.intoArray(tile, 4 * NR);
        c41.intoArray(tile, 4 * NR + LANES);
        c50.intoArray(tile, 5 * NR);
        c51.intoArray(tile, 5 * NR + LANES);
    }

    /**
     * {@link #stream6} for six tokens on two panels at once (the second nextBytes after the first
     * in the weight, and next floats after the first in pack): 24 accumulators, for AVX-512.
     * Paired runs at 128 tokens: 4-5% faster than two {@link #stream6} calls (8 of 8 on gate and
     * lm_head). The tiles are stored here, not through a helper taking the accumulators: that
     * helper was not inlined, boxed its twelve vectors and halved the GEMM's speed.
     */
    private static void stream6Pair(float[] x, int x0, int xs, MemorySegment w, long off, long nextBytes, int kc, float[] tile,
                                    float[] tile2, MemorySegment pack, long p0, long next) {
        FloatVector c00 = FloatVector.zero(F), c01 = c00, c02 = c00, c03 = c00, c10 = c00, c11 = c00, c12 = c00, c13 = c00;
        FloatVector c20 = c00, c21 = c00, c22 = c00, c23 = c00, c30 = c00, c31 = c00, c32 = c00, c33 = c00;
        FloatVector c40 = c00, c41 = c00, c42 = c00, c43 = c00, c50 = c00, c51 = c00, c52 = c00, c53 = c00;
        int x1 = x0 + xs;
        int x2 = x1 + xs;
        int x3 = x2 + xs;
        int x4 = x3 + xs;
        int x5 = x4 + xs;
        long off2 = off + nextBytes;
        long pb = p0 * 4;
        long qb = (p0 + next) * 4;
        for (int k = 0; k < kc; k++, off += 2 * NR, off2 += 2 * NR, pb += 4 * NR, qb += 4 * NR) {
            FloatVector b0 = Widen.bf16(w, off);
            FloatVector b1 = Widen.bf16(w, off + 2 * LANES);
            FloatVector b2 = Widen.bf16(w, off2);
            FloatVector b3 = Widen.bf16(w, off2 + 2 * LANES);
            b0.intoMemorySegment(pack, pb, ByteOrder.LITTLE_ENDIAN);
            b1.intoMemorySegment(pack, pb + 4 * LANES, ByteOrder.LITTLE_ENDIAN);
            b2.intoMemorySegment(pack, qb, ByteOrder.LITTLE_ENDIAN);
            b3.intoMemorySegment(pack, qb + 4 * LANES, ByteOrder.LITTLE_ENDIAN);
            FloatVector a = FloatVector.broadcast(F, x[x0 + k]);
            c00 = a.fma(b0, c00);
            c01 = a.fma(b1, c01);
            c02 = a.fma(b2, c02);
            c03 = a.fma(b3, c03);
            a = FloatVector.broadcast(F, x[x1 + k]);
            c10 = a.fma(b0, c10);
            c11 = a.fma(b1, c11);
            c12 = a.fma(b2, c12);
            c13 = a.fma(b3, c13);
            a = FloatVector.broadcast(F, x[x2 + k]);
            c20 = a.fma(b0, c20);
            c21 = a.fma(b1, c21);
            c22 = a.fma(b2, c22);
            c23 = a.fma(b3, c23);
            a = FloatVector.broadcast(F, x[x3 + k]);
            c30 = a.fma(b0, c30);
            c31 = a.fma(b1, c31);
            c32 = a.fma(b2, c32);
            c33 = a.fma(b3, c33);
            a = FloatVector.broadcast(F, x[x4 + k]);
            c40 = a.fma(b0, c40);
            c41 = a.fma(b1, c41);
            c42 = a.fma(b2, c42);
            c43 = a.fma(b3, c43);
            a = FloatVector.broadcast(F, x[x5 + k]);
            c50 = a.fma(b0, c50);
            c51 = a.fma(b1, c51);
            c52 = a.fma(b2, c52);
            c53 = a.fma(b3, c53);
        }
        c00.intoArray(tile, 0);
        c01.intoArray(tile, LANES);
        c10.intoArray(tile, NR);
        c11.intoArray(tile, NR + LANES);
        c20.intoArray(tile, 2 * NR);
        c21.intoArray(tile, 2 * NR + LANES);
        c30.intoArray(tile, 3 * NR);
        c31.intoArray(tile, 3 * NR + LANES);
        c40.intoArray(tile, 4 * NR);
        c41.intoArray(tile, 4 * NR + LANES);
        c50.intoArray(tile, 5 * NR);
        c51.intoArray(tile, 5 * NR + LANES);
        c02.intoArray(tile2, 0);
        c03.intoArray(tile2, LANES);
        c12.intoArray(tile2, NR);
        c13.intoArray(tile2, NR + LANES);
        c22.intoArray(tile2, 2 * NR);
        c23.intoArray(tile2, 2 * NR + LANES);
        c32.intoArray(tile2, 3 * NR);
        c33.intoArray(tile2, 3 * NR + LANES);
        c42.intoArray(tile2, 4 * NR);
        c43.intoArray(tile2, 4 * NR + LANES);
        c52.intoArray(tile2, 5 * NR);
        c53.intoArray(tile2, 5 * NR + LANES);
    }

    /** One token against one panel: the panels of a task left over after {@link #stream1FourPanels}. */
    private static void stream1(float[] x, int x0, MemorySegment w, long off, int kc, float[] tile) {
        FloatVector c0 = FloatVector.zero(F);
        FloatVector c1 = c0;
        for (int k = 0; k < kc; k++, off += 2 * NR) {
            FloatVector a = FloatVector.broadcast(F, x[x0 + k]);
            c0 = a.fma(Widen.bf16(w, off), c0);
            c1 = a.fma(Widen.bf16(w, off + 2 * LANES), c1);
        }
        c0.intoArray(tile, 0);
        c1.intoArray(tile, LANES);
    }

    /**
     * One token against four panels, the row at panelBytes from each one's start: the same sums as
     * {@link #stream1}, eight of them in flight. With two, each FMA waited for the last one and
     * decoding read its weights at 17-21 GB/s where memory gives 25-29; with eight it keeps up.
     */
    private static void stream1FourPanels(float[] x, int x0, MemorySegment w, long off, long panelBytes, int kc, float[] tile) {
        FloatVector c0 = FloatVector.zero(F);
        FloatVector c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0;
        long o1 = off + panelBytes;
        long o2 = o1 + panelBytes;
        long o3 = o2 + panelBytes;
        for (int k = 0; k < kc; k++, off += 2 * NR, o1 += 2 * NR, o2 += 2 * NR, o3 += 2 * NR) {
            FloatVector a = FloatVector.broadcast(F, x[x0 + k]);
            c0 = a.fma(Widen.bf16(w, off), c0);
            c1 = a.fma(Widen.bf16(w, off + 2 * LANES), c1);
            c2 = a.fma(Widen.bf16(w, o1), c2);
            c3 = a.fma(Widen.bf16(w, o1 + 2 * LANES), c3);
            c4 = a.fma(Widen.bf16(w, o2), c4);
            c5 = a.fma(Widen.bf16(w, o2 + 2 * LANES), c5);
            c6 = a.fma(Widen.bf16(w, o3), c6);
            c7 = a.fma(Widen.bf16(w, o3 + 2 * LANES), c7);
        }
        c0.intoArray(tile, 0);
        c1.intoArray(tile, LANES);
        c2.intoArray(tile, NR);
        c3.intoArray(tile, NR + LANES);
        c4.intoArray(tile, 2 * NR);
        c5.intoArray(tile, 2 * NR + LANES);
        c6.intoArray(tile, 3 * NR);
        c7.intoArray(tile, 3 * NR + LANES);
    }

    /**
     * m (2..4) tokens: {@link #stream6}'s sums with a third fewer accumulators; with keep, the
     * widened panel is also stored to pack from p0 for a second tile. Only then: at four tokens
     * the stores cost 12-17% (paired runs, gate projection).
     */
    private static void stream4(float[] x, int x0, int xs, int m, MemorySegment w, long off, int kc, float[] tile,
                                boolean keep, MemorySegment pack, long p0) {
        FloatVector c00 = FloatVector.zero(F), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
        int x1 = x0 + Math.min(1, m - 1) * xs;
        int x2 = x0 + Math.min(2, m - 1) * xs;
        int x3 = x0 + (m - 1) * xs;
        for (int k = 0; k < kc; k++, off += 2 * NR) {
            FloatVector b0 = Widen.bf16(w, off);
            FloatVector b1 = Widen.bf16(w, off + 2 * LANES);
            if (keep) {
                b0.intoMemorySegment(pack, (p0 + k * NR) * 4, ByteOrder.LITTLE_ENDIAN);
                b1.intoMemorySegment(pack, (p0 + k * NR + LANES) * 4, ByteOrder.LITTLE_ENDIAN);
            }
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
        }
        c00.intoArray(tile, 0);
        c01.intoArray(tile, LANES);
        c10.intoArray(tile, NR);
        c11.intoArray(tile, NR + LANES);
        c20.intoArray(tile, 2 * NR);
        c21.intoArray(tile, 2 * NR + LANES);
        c30.intoArray(tile, 3 * NR);
        c31.intoArray(tile, 3 * NR + LANES);
    }

    /**
     * Few tokens: each weight row is widened once and dotted with every token (added to y or
     * stored), in the packed kernels' order ({@link #kernelOrderDot}).
     */
    private static void dotPath(float[] x, int tokens, int rows, int cols, RowSource src, float[] y, boolean accumulate) {
        checkSizes(x, tokens, cols, y, rows);
        int rb = Math.max(1, Math.min(rows, DOT_BLOCK_FLOATS / cols));
        int blocks = (rows + rb - 1) / rb;
        Parallel.forRange(blocks, b -> {
            int o0 = b * rb;
            int n = Math.min(rb, rows - o0);
            float[] ws = SCRATCH.floats(0, n * cols);
            for (int r = 0; r < n; r++) {
                src.read(o0 + r, 0, cols, ws, r * cols);
            }
            for (int t = 0; t < tokens; t++) {
                for (int r = 0; r < n; r++) {
                    int at = t * rows + o0 + r;
                    y[at] = kernelOrderDot(x, t * cols, ws, r * cols, cols, y[at], accumulate);
                }
            }
        });
    }

    /**
     * One output as the packed kernels sum it: a fused multiply-add chain over each KC block in
     * k order, the blocks then added in turn (to y when accumulating). A token's result is then the
     * same whether it came with few tokens or many: with a LoRA adapter, prompts decoded together
     * get what each gets alone (a lane-split dot differed in the last bit).
     */
    private static float kernelOrderDot(float[] x, int x0, float[] w, int w0, int n, float y, boolean accumulate) {
        float sum = y;
        for (int k0 = 0; k0 < n; k0 += KC) {
            float s = 0f;
            for (int k = k0, end = Math.min(n, k0 + KC); k < end; k++) {
                s = Math.fma(x[x0 + k], w[w0 + k], s);
            }
            sum = k0 == 0 && !accumulate ? s : sum + s;
        }
        return sum;
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
