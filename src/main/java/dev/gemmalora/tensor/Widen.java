package dev.gemmalora.tensor;

import dev.gemmalora.io.DType;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/** Widens panel columns of a {@link Weight} (16 rows each, BF16 or F32) to fp32 lanes. */
final class Widen {
    private static final VectorSpecies<Short> S = ShortVector.SPECIES_128;
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_256;

    private Widen() {
    }

    /**
     * Eight BF16 values at byte offset off, widened: sign-extended to int (harmless: the shift
     * drops the upper half). Measured faster here than one 256-bit load split by shift and mask.
     */
    static FloatVector bf16(MemorySegment seg, long off) {
        ShortVector s = ShortVector.fromMemorySegment(S, seg, off, ByteOrder.LITTLE_ENDIAN);
        return ((IntVector) s.convertShape(VectorOperators.S2I, I, 0)).lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    /** dst[off .. off+n) = the n panel elements from element index i, widened (n a multiple of 8). */
    static void run(Weight w, long i, int n, MemorySegment dst, long off) {
        if (w.dtype() == DType.BF16) {
            for (int k = 0; k < n; k += 8) {
                bf16(w.data(), (i + k) * 2).intoMemorySegment(dst, (off + k) * 4, ByteOrder.LITTLE_ENDIAN);
            }
        } else {
            MemorySegment.copy(w.data(), i * 4, dst, off * 4, n * 4L);
        }
    }
}
