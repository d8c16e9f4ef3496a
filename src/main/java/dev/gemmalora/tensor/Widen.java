package dev.gemmalora.tensor;

import dev.gemmalora.io.DType;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/** Widens stored weights (BF16 or F32 panels) to fp32 with the Vector API. */
final class Widen {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_256;
    private static final VectorSpecies<Short> S = ShortVector.SPECIES_128;
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_256;

    private Widen() {
    }

    /** Eight BF16 values at byte offset off, widened to fp32 lanes. */
    static FloatVector bf16(MemorySegment seg, long off) {
        ShortVector s = ShortVector.fromMemorySegment(S, seg, off, ByteOrder.LITTLE_ENDIAN);
        // Sign extension is harmless: the shift drops the upper half.
        return ((IntVector) s.convertShape(VectorOperators.S2I, I, 0)).lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    /** Eight weights of w starting at element index i of its panels, as fp32 lanes. */
    static FloatVector lanes(Weight w, long i) {
        return w.dtype() == DType.BF16 ? bf16(w.data(), i * 2) : FloatVector.fromMemorySegment(F, w.data(), i * 4, ByteOrder.LITTLE_ENDIAN);
    }

    /** Like {@link #run(Weight, long, int, float[], int)}, into a segment at float index off. */
    static void run(Weight w, long i, int n, MemorySegment dst, long off) {
        if (w.dtype() == DType.BF16) {
            for (int k = 0; k < n; k += 8) {
                bf16(w.data(), (i + k) * 2).intoMemorySegment(dst, (off + k) * 4, ByteOrder.LITTLE_ENDIAN);
            }
        } else {
            MemorySegment.copy(w.data(), i * 4, dst, off * 4, n * 4L);
        }
    }

    /** The panel element at index i of w, as fp32. */
    static float element(Weight w, long i) {
        return w.dtype() == DType.BF16 ? DType.bf16ToFloat(w.data().getAtIndex(Weight.I16, i)) : w.data().getAtIndex(Weight.F32, i);
    }
}
