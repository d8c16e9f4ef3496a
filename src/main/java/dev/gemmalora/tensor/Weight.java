package dev.gemmalora.tensor;

import dev.gemmalora.io.DType;
import dev.gemmalora.io.TensorData;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * A frozen matrix [rows, cols] in its stored dtype (usually a slice of a memory-mapped file).
 * Linear layers keep HF's layout: rows = out features, cols = in features.
 */
public record Weight(String name, DType dtype, int rows, int cols, MemorySegment data) {
    static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    public static Weight of(TensorData t) {
        if (t.shape().length != 2) {
            throw new IllegalArgumentException(t.name() + ": expected a 2-D tensor, got shape " + java.util.Arrays.toString(t.shape()));
        }
        return new Weight(t.name(), t.dtype(), t.dim(0), t.dim(1), t.data());
    }

    public float get(int r, int c) {
        long i = (long) r * cols + c;
        return switch (dtype) {
            case F32 -> data.getAtIndex(F32, i);
            case BF16 -> DType.bf16ToFloat(data.getAtIndex(I16, i));
            case F16 -> Float.float16ToFloat(data.getAtIndex(I16, i));
        };
    }

    /** Widens row r into dst[off .. off+cols). */
    public void row(int r, float[] dst, int off) {
        long base = (long) r * cols;
        switch (dtype) {
            case F32 -> MemorySegment.copy(data, F32, base * 4, dst, off, cols);
            case BF16 -> {
                for (int c = 0; c < cols; c++) {
                    dst[off + c] = DType.bf16ToFloat(data.getAtIndex(I16, base + c));
                }
            }
            case F16 -> {
                for (int c = 0; c < cols; c++) {
                    dst[off + c] = Float.float16ToFloat(data.getAtIndex(I16, base + c));
                }
            }
        }
    }
}
