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
     * drops the upper half). Measured faster here than one 256-bit load split by shift and mask.
     */
    static FloatVector bf16(MemorySegment seg, long off) {
        ShortVector s = ShortVector.fromMemorySegment(S, seg, off, ByteOrder.LITTLE_ENDIAN);
        return ((IntVector) s.convertShape(VectorOperators.S2I, I, 0)).lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }
}
