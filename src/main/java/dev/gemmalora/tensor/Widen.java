package dev.gemmalora.tensor;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/** Widens BF16 panel columns of a {@link Weight} to fp32 lanes. */
final class Widen {
    private static final VectorSpecies<Integer> I = Simd.F.withLanes(int.class);
    private static final VectorSpecies<Short> S = VectorSpecies.of(short.class, VectorShape.forBitSize(Simd.LANES * 16));

    private Widen() {
    }

    /**
     * {@link Simd#LANES} BF16 values at byte offset off, widened: sign-extended to int (harmless: the shift
     * drops the upper half). For panels whose widened rows must stay in row order (the packed
     * path's, which its fp32 kernels read back; the input gradient's columns); the few-token
     * kernels, whose sums are reordered once per tile, use {@link #rowPairs}.
     */
    static FloatVector bf16(MemorySegment seg, long off) {
        ShortVector s = ShortVector.fromMemorySegment(S, seg, off, ByteOrder.LITTLE_ENDIAN);
        return ((IntVector) s.convertShape(VectorOperators.S2I, I, 0)).lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    /**
     * A whole panel column (2 {@link Simd#LANES} BF16 values) at byte offset off as {@link Simd#LANES}
     * ints, each holding an even panel row in its low half and the next odd row in its high half:
     * {@link #evenRows} and {@link #oddRows} widen them with one instruction each, where
     * {@link #bf16} spends a load, a sign extension and a shift per vector. Results then come out
     * in row-pair order ({@link TileStore#zipRowPairs}).
     */
    static IntVector rowPairs(MemorySegment seg, long off) {
        return IntVector.fromMemorySegment(I, seg, off, ByteOrder.LITTLE_ENDIAN);
    }

    /** Rows 0, 2, 4, ... of a {@link #rowPairs} column, widened. */
    static FloatVector evenRows(IntVector pairs) {
        return pairs.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    /** Rows 1, 3, 5, ... of a {@link #rowPairs} column, widened: the high halves are the floats' top bits already. */
    static FloatVector oddRows(IntVector pairs) {
        return pairs.and(0xFFFF0000).reinterpretAsFloats();
    }
}
