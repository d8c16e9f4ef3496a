package dev.gemmalora.tensor;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Widens BF16 panel columns of a {@link Weight} to fp32 lanes. A whole column (2 {@link Simd#LANES}
 * BF16 values) is loaded as {@link Simd#LANES} ints, each holding an even panel row in its low half
 * and the next odd row in its high half, and widened with one instruction per vector: a shift for
 * the even rows, a mask for the odd ones. Widening each half of the column in order took a load, a
 * sign extension and a shift per vector; the kernels that widen as they read are short of
 * instructions, not registers: paired GEMMs at 2-30 tokens ran 0.97-1.19x as fast this way (most
 * above 1.05x), at 128-512 tokens 0.99-1.04x.
 * Their sums come out in row-pair order, each NR group's even rows and then its odd rows, and
 * {@link TileStore#zipRowPairs} puts them back in row order once per tile.
 */
final class Widen {
    private static final VectorSpecies<Integer> I = Simd.F.withLanes(int.class);

    private Widen() {
    }

    /** The panel column at byte offset off, as row pairs. */
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
