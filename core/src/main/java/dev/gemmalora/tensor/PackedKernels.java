package dev.gemmalora.tensor;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The register tiles of the packed GEMM: tokens x one (or two) fp32 panels of {@link Weight#PANEL}
 * rows, activations broadcast against two panel vectors per k, summed by fused multiply-adds in k
 * order. {@link GemmScalar} holds the plain definition they are tested against.
 */
final class PackedKernels {
    private static final VectorSpecies<Float> F = Simd.F;
    private static final int LANES = Simd.LANES;
    private static final int NR = Weight.PANEL;
    private static final int PACKED = Gemm.PACKED;

    private PackedKernels() {
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
     * Five tokens, packed k-major from a0 ({@link Gemm#packFives}), against one packed panel, into
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
}
