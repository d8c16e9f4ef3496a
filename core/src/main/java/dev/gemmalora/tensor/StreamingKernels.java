package dev.gemmalora.tensor;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Kernels that widen a BF16 panel in registers as they read it from the memory-mapped weight, so
 * that reading the weights overlaps the arithmetic: the first token tile of the packed path (which
 * also stores the widened panel for the other tiles) and the few-token path of decoding. Each sums
 * in the order of {@link PackedKernels}, so a token's result does not depend on the path. All
 * widen as row pairs ({@link Widen}): their sums, and the panels they keep, are in row-pair order.
 */
final class StreamingKernels {
    private static final VectorSpecies<Float> F = Simd.F;
    private static final int LANES = Simd.LANES;
    private static final int NR = Weight.PANEL;
    private static final int PACKED = Gemm.PACKED;

    private StreamingKernels() {
    }

    /**
     * Five tokens packed k-major from a0 ({@link Gemm#packFives}) against kc columns of a BF16 panel
     * from byte offset off, summed as {@link PackedKernels#kernel5} sums, into tile in row-pair order;
     * the widened panel is also stored to pack from float index p0, in that order, for the packed
     * path's other tiles (decoding five tokens writes it to scratch). The kernels take the bare
     * segment: reaching it through the Weight (a dtype test per load) measured a third slower. The
     * six-token kernel this replaced read tokens from their rows and needed 15 of AVX2's 16
     * registers: C2 loaded all six broadcasts first and kept four accumulators on the stack, a
     * store and a reload each per k-step. Ten accumulators
     * and one packed index compile without a spill: paired runs, 128 tokens of gate_proj 1.04x,
     * 512 tokens 1.05x, 9 tokens 1.17x, five decoded tokens 1.37-1.45x, bits unchanged.
     */
    static void stream5(float[] x, int a0, MemorySegment w, long off, int kc, float[] tile, MemorySegment pack, long p0) {
        FloatVector c00 = FloatVector.zero(F), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
        FloatVector c30 = c00, c31 = c00, c40 = c00, c41 = c00;
        long pb = p0 * 4;
        for (int i = a0, end = a0 + kc * PACKED; i < end; i += PACKED, off += 2 * NR, pb += 2 * 4 * LANES) {
            IntVector pairs = Widen.rowPairs(w, off);
            FloatVector b0 = Widen.evenRows(pairs);
            FloatVector b1 = Widen.oddRows(pairs);
            b0.intoMemorySegment(pack, pb, ByteOrder.LITTLE_ENDIAN);
            b1.intoMemorySegment(pack, pb + 4 * LANES, ByteOrder.LITTLE_ENDIAN);
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
     * {@link #stream5} on two panels at once (the second nextBytes after the first in the weight,
     * and next floats after the first in pack): 20 accumulators, for AVX-512. The tiles are stored
     * here, not through a helper taking the accumulators: that helper was not inlined, boxed its
     * vectors and halved the GEMM's speed.
     */
    static void stream5Pair(float[] x, int a0, MemorySegment w, long off, long nextBytes, int kc, float[] tile,
                            float[] tile2, MemorySegment pack, long p0, long next) {
        FloatVector c00 = FloatVector.zero(F), c01 = c00, c02 = c00, c03 = c00, c10 = c00, c11 = c00, c12 = c00, c13 = c00;
        FloatVector c20 = c00, c21 = c00, c22 = c00, c23 = c00, c30 = c00, c31 = c00, c32 = c00, c33 = c00;
        FloatVector c40 = c00, c41 = c00, c42 = c00, c43 = c00;
        long off2 = off + nextBytes;
        long pb = p0 * 4;
        long qb = (p0 + next) * 4;
        for (int i = a0, end = a0 + kc * PACKED; i < end; i += PACKED, off += 2 * NR, off2 += 2 * NR, pb += 4 * NR, qb += 4 * NR) {
            IntVector pairs = Widen.rowPairs(w, off);
            IntVector pairs2 = Widen.rowPairs(w, off2);
            FloatVector b0 = Widen.evenRows(pairs);
            FloatVector b1 = Widen.oddRows(pairs);
            FloatVector b2 = Widen.evenRows(pairs2);
            FloatVector b3 = Widen.oddRows(pairs2);
            b0.intoMemorySegment(pack, pb, ByteOrder.LITTLE_ENDIAN);
            b1.intoMemorySegment(pack, pb + 4 * LANES, ByteOrder.LITTLE_ENDIAN);
            b2.intoMemorySegment(pack, qb, ByteOrder.LITTLE_ENDIAN);
            b3.intoMemorySegment(pack, qb + 4 * LANES, ByteOrder.LITTLE_ENDIAN);
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
     * One token against one panel: the panels of a task left over after {@link #stream1FourPanels}.
     * The sums are in row-pair order, as {@link #stream4}'s.
     */
    static void stream1(float[] x, int x0, MemorySegment w, long off, int kc, float[] tile) {
        FloatVector c0 = FloatVector.zero(F);
        FloatVector c1 = c0;
        for (int k = 0; k < kc; k++, off += 2 * NR) {
            FloatVector a = FloatVector.broadcast(F, x[x0 + k]);
            IntVector pairs = Widen.rowPairs(w, off);
            c0 = a.fma(Widen.evenRows(pairs), c0);
            c1 = a.fma(Widen.oddRows(pairs), c1);
        }
        c0.intoArray(tile, 0);
        c1.intoArray(tile, LANES);
    }

    /**
     * One token against four panels, the row at panelBytes from each one's start: the same sums as
     * {@link #stream1}, eight of them in flight. With two, each FMA waited for the last one and
     * decoding read its weights at 17-21 GB/s where memory gives 25-29; with eight it keeps up.
     * Each panel's sums are in row-pair order; the row-pair widening changed nothing while the
     * weights come from memory (a 32000-row matrix: 0.99x) and ran 1.2-2.1x as fast on matrices
     * that fit in cache (paired runs).
     */
    static void stream1FourPanels(float[] x, int x0, MemorySegment w, long off, long panelBytes, int kc, float[] tile) {
        FloatVector c0 = FloatVector.zero(F);
        FloatVector c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0;
        long o1 = off + panelBytes;
        long o2 = o1 + panelBytes;
        long o3 = o2 + panelBytes;
        for (int k = 0; k < kc; k++, off += 2 * NR, o1 += 2 * NR, o2 += 2 * NR, o3 += 2 * NR) {
            FloatVector a = FloatVector.broadcast(F, x[x0 + k]);
            IntVector p0 = Widen.rowPairs(w, off);
            IntVector p1 = Widen.rowPairs(w, o1);
            IntVector p2 = Widen.rowPairs(w, o2);
            IntVector p3 = Widen.rowPairs(w, o3);
            c0 = a.fma(Widen.evenRows(p0), c0);
            c1 = a.fma(Widen.oddRows(p0), c1);
            c2 = a.fma(Widen.evenRows(p1), c2);
            c3 = a.fma(Widen.oddRows(p1), c3);
            c4 = a.fma(Widen.evenRows(p2), c4);
            c5 = a.fma(Widen.oddRows(p2), c5);
            c6 = a.fma(Widen.evenRows(p3), c6);
            c7 = a.fma(Widen.oddRows(p3), c7);
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
     * Two tokens against two panels (the second panelBytes after the first), kc even: {@link #stream4}'s sums
     * for m = 2, in row-pair order, without the repeated tokens that kernel computes to fill its
     * four-token tile. Two panels keep eight accumulators in flight, as {@link #stream1FourPanels}
     * does: with one panel's four, each FMA waited on the last (0.88x of stream4). Two k-steps a
     * turn, written out: C2 unrolled the one-step loop six times and spilled 61 values to the stack
     * (0.66-0.69x of stream4 on weights in cache, against 1.00-1.03x now). The bound reads
     * k + 2 <= kc: written k < kc, C2 did not treat the loop as counted and it ran 0.60-0.80x.
     */
    static void stream2TwoPanels(float[] x, int x0, int xs, MemorySegment w, long off, long panelBytes, int kc, float[] tile,
                                 float[] tile2) {
        FloatVector c00 = FloatVector.zero(F), c01 = c00, c10 = c00, c11 = c00, c02 = c00, c03 = c00, c12 = c00, c13 = c00;
        int x1 = x0 + xs;
        for (int k = 0; k + 2 <= kc; k += 2, off += 4 * NR) {
            IntVector p0 = Widen.rowPairs(w, off);
            IntVector p1 = Widen.rowPairs(w, off + panelBytes);
            FloatVector a = FloatVector.broadcast(F, x[x0 + k]);
            FloatVector a1 = FloatVector.broadcast(F, x[x1 + k]);
            FloatVector b = Widen.evenRows(p0);
            c00 = a.fma(b, c00);
            c10 = a1.fma(b, c10);
            b = Widen.oddRows(p0);
            c01 = a.fma(b, c01);
            c11 = a1.fma(b, c11);
            b = Widen.evenRows(p1);
            c02 = a.fma(b, c02);
            c12 = a1.fma(b, c12);
            b = Widen.oddRows(p1);
            c03 = a.fma(b, c03);
            c13 = a1.fma(b, c13);
            p0 = Widen.rowPairs(w, off + 2 * NR);
            p1 = Widen.rowPairs(w, off + 2 * NR + panelBytes);
            a = FloatVector.broadcast(F, x[x0 + k + 1]);
            a1 = FloatVector.broadcast(F, x[x1 + k + 1]);
            b = Widen.evenRows(p0);
            c00 = a.fma(b, c00);
            c10 = a1.fma(b, c10);
            b = Widen.oddRows(p0);
            c01 = a.fma(b, c01);
            c11 = a1.fma(b, c11);
            b = Widen.evenRows(p1);
            c02 = a.fma(b, c02);
            c12 = a1.fma(b, c12);
            b = Widen.oddRows(p1);
            c03 = a.fma(b, c03);
            c13 = a1.fma(b, c13);
        }
        c00.intoArray(tile, 0);
        c01.intoArray(tile, LANES);
        c10.intoArray(tile, NR);
        c11.intoArray(tile, NR + LANES);
        c02.intoArray(tile2, 0);
        c03.intoArray(tile2, LANES);
        c12.intoArray(tile2, NR);
        c13.intoArray(tile2, NR + LANES);
    }

    /**
     * m (2..4) tokens: {@link #stream5}'s sums on tokens read from their rows, in row-pair order
     * ({@link Widen#rowPairs}: each token's even rows, then its odd rows; {@link TileStore#zipRowPairs}
     * puts them back in row order). With keep, the widened panel is also stored to pack from p0, in
     * the same order, for a second tile. Only then: at four tokens the stores cost 12-17% (paired
     * runs, gate projection). The row-pair widening, one load and two one-instruction widenings per column
     * instead of two loads, two extensions and two shifts, ran four tokens 1.11x as fast with the
     * weights streaming from memory (16 and 15 of 16 pairs; paired GEMMs at 2-8 tokens 0.98-1.16x).
     */
    static void stream4(float[] x, int x0, int xs, int m, MemorySegment w, long off, int kc, float[] tile,
                                boolean keep, MemorySegment pack, long p0) {
        FloatVector c00 = FloatVector.zero(F), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
        int x1 = x0 + Math.min(1, m - 1) * xs;
        int x2 = x0 + Math.min(2, m - 1) * xs;
        int x3 = x0 + (m - 1) * xs;
        for (int k = 0; k < kc; k++, off += 2 * NR) {
            IntVector pairs = Widen.rowPairs(w, off);
            FloatVector b0 = Widen.evenRows(pairs);
            FloatVector b1 = Widen.oddRows(pairs);
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
}
