package dev.gemmalora.tensor;

import java.lang.foreign.MemorySegment;

/**
 * GEMMs of a few tokens, where the packed path's tiles would mostly repeat tokens: a BF16 weight
 * streams through {@link StreamingKernels} (decoding, short contexts), a heap matrix is widened a
 * block of rows at a time and dotted with each token.
 */
final class FewTokenGemm {
    private static final int NR = Weight.PANEL;
    private static final int KC = Gemm.KC;
    private static final int PACKED = Gemm.PACKED;
    /** Panels per task on the streaming path. */
    private static final int STREAM_PANELS = 8;
    /** Rows widened at once on the few-token path for heap matrices: about 256 KiB of fp32. */
    private static final int DOT_BLOCK_FLOATS = 64 * 1024;

    private FewTokenGemm() {
    }

    /**
     * Few tokens, BF16: each KC block of a panel is read from memory once, widened in registers and
     * used for every token while it sits in L1, so reading the weights overlaps the arithmetic.
     * One token runs four panels at a time and two tokens two, so that enough sums are in flight;
     * the kernels of one to four tokens sum in row-pair order ({@link Widen#rowPairs}), zipped back
     * per tile; five tokens take the packed path's five-token tile, in row order.
     */
    static void stream(float[] x, int tokens, Weight w, float[] y) {
        int rows = w.rows();
        int cols = w.cols();
        Gemm.checkSizes(x, tokens, cols, y, rows);
        int panels = Weight.panels(rows);
        MemorySegment seg = w.data();
        float[] fives = tokens == PACKED ? Gemm.packFives(x, tokens, cols, 0) : null;
        Parallel.forRange((panels + STREAM_PANELS - 1) / STREAM_PANELS, b -> {
            float[] tile = Gemm.tile();
            MemorySegment widened = Gemm.SCRATCH.aligned(0, NR * KC);
            int end = Math.min(panels, (b + 1) * STREAM_PANELS);
            int p = b * STREAM_PANELS;
            if (tokens == 1) {
                for (; p + 4 <= end; p += 4) {
                    for (int k0 = 0; k0 < cols; k0 += KC) {
                        long i = ((long) p * cols + k0) * NR;
                        StreamingKernels.stream1FourPanels(x, k0, seg, i * 2, (long) cols * NR * 2, Math.min(KC, cols - k0), tile);
                        TileStore.storeTile(TileStore.zipRowPairs(tile, 4, tile), 1, Math.min(4 * NR, rows - p * NR), y, p * NR, rows, k0 == 0);
                    }
                }
            }
            if (tokens == 2 && cols % 2 == 0) {
                // Two panels at once: the four-token kernel ran two tokens at the cost of four.
                // Paired runs, same bits, weights from memory: gate 1.16-1.26x, down 1.32x, the
                // vocabulary projection 1.19-1.22x; q (in cache) 1.00-1.03x. The kernel takes two
                // k-steps a turn, so an odd width (no real model's) keeps the one-panel path.
                float[] tile2 = Gemm.secondTile();
                for (; p + 2 <= end; p += 2) {
                    for (int k0 = 0; k0 < cols; k0 += KC) {
                        long i = ((long) p * cols + k0) * NR;
                        StreamingKernels.stream2TwoPanels(x, k0, cols, seg, i * 2, (long) cols * NR * 2, Math.min(KC, cols - k0), tile, tile2);
                        TileStore.storeRowPairs(tile, 2, Math.min(NR, rows - p * NR), y, p * NR, rows, k0 == 0);
                        TileStore.storeRowPairs(tile2, 2, Math.min(NR, rows - (p + 1) * NR), y, (p + 1) * NR, rows, k0 == 0);
                    }
                }
            }
            for (; p < end; p++) {
                int valid = Math.min(NR, rows - p * NR);
                for (int k0 = 0; k0 < cols; k0 += KC) {
                    int kc = Math.min(KC, cols - k0);
                    long i = ((long) p * cols + k0) * NR;
                    if (fives != null) {
                        StreamingKernels.stream5(fives, k0 * PACKED, seg, i * 2, kc, tile, widened, 0);
                        TileStore.storeRowPairs(tile, PACKED, valid, y, p * NR, rows, k0 == 0);
                    } else {
                        fourTokenTiles(x, tokens, cols, k0, kc, seg, i * 2, tile, widened, y, p * NR, valid, rows);
                    }
                }
            }
        });
    }

    /**
     * tokens (1..4, 6..8) against one KC block of a panel in tiles of near-equal size, at most four
     * tokens each (8 as 4 + 4, 6 as 3 + 3, where 6 + 2 would cost the 2 as much as 4): the first
     * tile widens the panel and keeps it, the second reads it widened. Five tokens take one packed
     * tile instead. Six as 3 + 3 ran 0.99-1.22x the six-token kernel on gate (three paired runs),
     * 1.17x on down, 0.88-1.08x on q-sized shapes.
     */
    private static void fourTokenTiles(float[] x, int tokens, int cols, int k0, int kc, MemorySegment seg, long off,
                                       float[] tile, MemorySegment widened, float[] y, int row0, int valid, int rows) {
        int tiles = (tokens + 3) / 4;
        for (int q = 0, t0 = 0, m; q < tiles; q++, t0 += m) {
            m = (tokens - t0) / (tiles - q);
            // The panel kept by the first tile is in row-pair order, so the second tile's sums are too.
            if (q > 0) {
                PackedKernels.kernel4(x, t0 * cols + k0, cols, m, widened, 0, kc, tile);
            } else if (m > 1) {
                StreamingKernels.stream4(x, t0 * cols + k0, cols, m, seg, off, kc, tile, tiles > 1, widened, 0);
            } else {
                StreamingKernels.stream1(x, t0 * cols + k0, seg, off, kc, tile);
            }
            TileStore.storeRowPairs(tile, m, valid, y, t0 * rows + row0, rows, k0 == 0);
        }
    }

    /**
     * Few tokens: each weight row is widened once and dotted with every token (added to y or
     * stored), in the packed kernels' order ({@link #kernelOrderDot}).
     */
    static void dotPath(float[] x, int tokens, int rows, int cols, Gemm.RowSource src, float[] y, boolean accumulate) {
        Gemm.checkSizes(x, tokens, cols, y, rows);
        int rb = Math.max(1, Math.min(rows, DOT_BLOCK_FLOATS / cols));
        int blocks = (rows + rb - 1) / rb;
        Parallel.forRange(blocks, b -> {
            int o0 = b * rb;
            int n = Math.min(rb, rows - o0);
            float[] ws = Gemm.SCRATCH.floats(0, n * cols);
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
}
