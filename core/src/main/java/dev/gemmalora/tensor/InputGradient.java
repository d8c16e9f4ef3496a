package dev.gemmalora.tensor;

import dev.gemmalora.io.DType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.IntVector;

/**
 * dx[T, cols] += dy[T, rows] W for a packed {@link Weight}: the input gradient of y = x W^T.
 *
 * <p>A weight panel holds PANEL rows of W contiguously for each column, which is the wrong way round
 * for broadcasting dy against rows of W; transposing the weights on every call cost a scalar move
 * per weight element. This computes the transpose of the product instead, dx^T = W^T dy^T, with
 * the forward's five-token kernel: five columns of W, widened from their panels and interleaved
 * k-major, are the broadcast side, and PANEL-token panels of dy^T are the vector side. Only dy (T x
 * rows) and the result (T x cols) are transposed, once per call, instead of rows x cols weights.
 */
final class InputGradient {
    /** Columns of W per kernel call: the five-token kernel's broadcast side. */
    private static final int MR = Gemm.PACKED;
    private static final int NR = Weight.PANEL;
    /** Rows of W (the reduction) per kernel call, a multiple of the panel height. */
    private static final int KC = 512;
    /**
     * Columns of W per task: a multiple of the kernel's five. Every task reads all of dy^T (19 MB
     * for gate at 512 tokens, past what L2 and this VM's share of L3 hold), so wider tasks read it
     * less often. Paired runs at 512 tokens favoured 96 over 48 (12 of 16 on gate and on o,
     * 11 of 12 on down with one thread), by margins close to what the same harness shows between
     * two copies of identical code; 100 is the nearest multiple of five.
     */
    private static final int NC = 100;
    /**
     * Rows of W whose dy^T panels are built at once: every decoder projection in one go, while
     * the vocabulary projection's 256,000 rows take 28 rounds (the buffer is T x 9216 floats).
     */
    private static final int KB = 9216;
    /**
     * Floats 0 and 1: a worker's token panel and widened columns, 2: the caller's dx^T, 3: one
     * widened run; segment 0: the caller's dy^T panels, which the workers read.
     */
    private static final ThreadScratch SCRATCH = new ThreadScratch(4, 1);

    private InputGradient() {
    }

    /** dx (+)= dy W: added to dx's contents, or (add false) overwriting them. */
    static void matmul(float[] dy, int tokens, Weight w, float[] dx, boolean add) {
        MemorySegment wd = w.data(); // packs the weight on first use, here on the calling thread
        int rows = w.rows();
        int cols = w.cols();
        Gemm.checkSizes(dy, tokens, rows, dx, cols);
        int kDim = Weight.panels(rows) * NR;
        int tPanels = (tokens + NR - 1) / NR;
        int tasks = (cols + NC - 1) / NC;
        long work = (long) tokens * rows * cols;
        MemorySegment dyT = SCRATCH.aligned(0, (long) tPanels * Math.min(KB, kDim) * NR);
        float[] dxT = SCRATCH.floats(2, tasks * tPanels * NC * NR);
        for (int kb0 = 0; kb0 < kDim; kb0 += KB) {
            int kb = kb0;
            int kbLen = Math.min(KB, kDim - kb0);
            Gemm.forTasks(work, tPanels, tp -> packTokens(dy, tokens, rows, kb, kbLen, tp, dyT));
            Gemm.forTasks(work, tasks, b -> {
                block(wd, w.dtype() == DType.BF16, cols, tPanels, kb, kbLen, dyT, dxT, b);
                if (kb + kbLen == kDim) {
                    addTransposed(dxT, tPanels, tokens, cols, b, dx, add); // while the task's columns are still in L2
                }
            });
        }
    }

    /**
     * Token panel tp of dy^T for rows [kb0, kb0 + kbLen) of W: dyT[(tp * kbLen + k) * NR + j] =
     * dy[tp * NR + j][kb0 + k], zero past the last token and the last row (the weight's padding rows).
     * Done 64 rows of W at a time, so the NR reading streams and the NR x 256 bytes written stay in L1.
     */
    private static void packTokens(float[] dy, int tokens, int rows, int kb0, int kbLen, int tp, MemorySegment dyT) {
        float[] panel = SCRATCH.floats(0, kbLen * NR);
        java.util.Arrays.fill(panel, 0, kbLen * NR, 0f);
        int real = Math.min(kbLen, rows - kb0);
        int nt = Math.min(NR, tokens - tp * NR);
        for (int k0 = 0; k0 < real; k0 += 64) {
            int k1 = Math.min(real, k0 + 64);
            for (int j = 0; j < nt; j++) {
                int src = (tp * NR + j) * rows + kb0;
                for (int k = k0; k < k1; k++) {
                    panel[k * NR + j] = dy[src + k];
                }
            }
        }
        MemorySegment.copy(panel, 0, dyT, ValueLayout.JAVA_FLOAT, (long) tp * kbLen * NR * 4, kbLen * NR);
    }

    /**
     * Columns [b * NC, +NC) of dx^T over rows [kb0, kb0 + kbLen) of W, stored (kb0 = 0) or added.
     * Task b's part of dxT is tile-major, [token panel][column][NR tokens], so the tiles of one KC
     * block are stored in the order of memory. With dx^T as plain rows (a column's tokens, 2 KiB
     * apart at 512 tokens) each tile's five rows were separate misses: the stores took 7.1% of the
     * gate projection's input-gradient samples (one thread, 512 tokens), 4.7% in this layout.
     */
    private static void block(MemorySegment wd, boolean bf16, int cols, int tPanels, int kb0, int kbLen,
                              MemorySegment dyT, float[] dxT, int b) {
        int c0 = b * NC;
        int nc = Math.min(NC, cols - c0);
        float[] a = SCRATCH.floats(1, NC * KC);
        float[] tile = Gemm.tile();
        float[] tile2 = Gemm.secondTile();
        for (int k0 = 0; k0 < kbLen; k0 += KC) {
            int kc = Math.min(KC, kbLen - k0);
            widenColumns(wd, bf16, cols, c0, nc, kb0 + k0, kc, a);
            boolean first = kb0 + k0 == 0;
            int tp = 0;
            for (; Gemm.PAIRED && tp + 2 <= tPanels; tp += 2) {
                long p0 = ((long) tp * kbLen + k0) * NR;
                int panelTiles = (b * tPanels + tp) * NC * NR;
                for (int c = 0; c < nc; c += MR) {
                    PackedKernels.kernel5Pair(a, c * kc, dyT, p0, (long) kbLen * NR, kc, tile, tile2);
                    TileStore.store(tile, Math.min(MR, nc - c), NR, dxT, panelTiles + c * NR, NR, first);
                    TileStore.store(tile2, Math.min(MR, nc - c), NR, dxT, panelTiles + (NC + c) * NR, NR, first);
                }
            }
            for (; tp < tPanels; tp++) {
                long p0 = ((long) tp * kbLen + k0) * NR;
                int panelTiles = (b * tPanels + tp) * NC * NR;
                for (int c = 0; c < nc; c += MR) {
                    PackedKernels.kernel5(a, c * kc, dyT, p0, kc, tile);
                    TileStore.store(tile, Math.min(MR, nc - c), NR, dxT, panelTiles + c * NR, NR, first);
                }
            }
        }
    }

    /**
     * The columns in groups of five, k-major, as {@link Gemm#kernel5} reads them:
     * a[(g * kc + k) * MR + i] = W[k0 + k][c0 + MR g + i]. In a panel the NR rows of one column are
     * contiguous, so each column's kc rows are kc / NR runs of NR, widened as vectors (BF16 as row
     * pairs, zipped back) and then spread five apart. Panel-major order keeps the reads within one
     * panel's columns. A last group short of five keeps stale columns, whose results are not stored.
     */
    private static void widenColumns(MemorySegment wd, boolean bf16, int cols, int c0, int nc, int k0, int kc, float[] a) {
        float[] runs = SCRATCH.floats(3, NR);
        for (int q = 0; q < kc; q += NR) {
            long run = ((long) ((k0 + q) / NR) * cols + c0) * NR;
            for (int c = 0; c < nc; c++, run += NR) {
                if (bf16) {
                    IntVector pairs = Widen.rowPairs(wd, run * 2);
                    Widen.evenRows(pairs).intoArray(runs, 0);
                    Widen.oddRows(pairs).intoArray(runs, Simd.LANES);
                    TileStore.zipRowPairs(runs, 1, runs);
                } else {
                    MemorySegment.copy(wd, Weight.F32, run * 4, runs, 0, NR);
                }
                int dst = ((c / MR) * kc + q) * MR + c % MR;
                for (int j = 0; j < NR; j++) {
                    a[dst + j * MR] = runs[j];
                }
            }
        }
    }

    /**
     * dx[t][c] += dx^T[c][t] (or = without add) for the columns of task b, one token panel at a time: the
     * transposition goes through a small buffer in L1, so dx is written in runs of NC floats.
     * (Scattering straight into dx touched NR rows per column; at 9,216 columns those rows are
     * 36 KiB apart and share L1 sets.)
     */
    private static void addTransposed(float[] dxT, int tPanels, int tokens, int cols, int b, float[] dx, boolean add) {
        int c0 = b * NC;
        int nc = Math.min(NC, cols - c0);
        float[] buf = SCRATCH.floats(0, NR * NC);
        for (int tp = 0, t0 = 0; tp < tPanels; tp++, t0 += NR) {
            int nt = Math.min(NR, tokens - t0);
            for (int c = 0; c < nc; c++) {
                int src = ((b * tPanels + tp) * NC + c) * NR;
                for (int j = 0; j < nt; j++) {
                    buf[j * NC + c] = dxT[src + j];
                }
            }
            for (int j = 0; j < nt; j++) {
                int dst = (t0 + j) * cols + c0;
                if (!add) {
                    System.arraycopy(buf, j * NC, dx, dst, nc);
                    continue;
                }
                for (int c = 0; c < nc; c++) {
                    dx[dst + c] += buf[j * NC + c];
                }
            }
        }
    }
}
