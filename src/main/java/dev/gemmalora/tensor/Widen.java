package dev.gemmalora.tensor;

import dev.gemmalora.io.DType;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/** Widens stored rows (BF16, F16, F32) to fp32 with the Vector API. */
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

    /** dst[off + i] = w[row, i] for i in [0, cols). */
    static void row(Weight w, int row, float[] dst, int off) {
        segment(w, row, 0, w.cols(), dst, off);
    }

    /** dst[off + i] = w[row, col0 + i] for i in [0, cols). */
    static void segment(Weight w, int row, int col0, int cols, float[] dst, int off) {
        MemorySegment seg = w.data();
        long base = (long) row * w.cols() + col0;
        if (w.dtype() == DType.BF16) {
            int i = 0;
            for (; i + 8 <= cols; i += 8) {
                bf16(seg, (base + i) * 2).intoArray(dst, off + i);
            }
            for (; i < cols; i++) {
                dst[off + i] = DType.bf16ToFloat(seg.getAtIndex(Weight.I16, base + i));
            }
        } else if (w.dtype() == DType.F32) {
            MemorySegment.copy(seg, Weight.F32, base * 4, dst, off, cols);
        } else {
            for (int i = 0; i < cols; i++) {
                dst[off + i] = w.get(row, col0 + i);
            }
        }
    }
}
