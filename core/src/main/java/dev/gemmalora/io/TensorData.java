package dev.gemmalora.io;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/** One tensor as stored: name, dtype, shape and the bytes (a slice of a mapped file or a heap segment). */
public record TensorData(String name, DType dtype, long[] shape, MemorySegment data) {

    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    public long numel() {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    public int dim(int i) {
        return Math.toIntExact(shape[i]);
    }

    public float get(long index) {
        return switch (dtype) {
            case F32 -> data.getAtIndex(F32, index);
            case BF16 -> DType.bf16ToFloat(data.getAtIndex(I16, index));
            case F16 -> Float.float16ToFloat(data.getAtIndex(I16, index));
        };
    }

    /** Widens the whole tensor to a new float array (for small tensors: adapters, norms, references). */
    public float[] toFloats() {
        float[] out = new float[Math.toIntExact(numel())];
        for (int i = 0; i < out.length; i++) {
            out[i] = get(i);
        }
        return out;
    }

    public static TensorData ofFloats(String name, float[] values, long... shape) {
        MemorySegment seg = MemorySegment.ofArray(new byte[values.length * 4]);
        for (int i = 0; i < values.length; i++) {
            seg.setAtIndex(F32, i, values[i]);
        }
        return new TensorData(name, DType.F32, shape, seg);
    }

    /** Casts floats to the given dtype (round to nearest even for BF16/F16, as torch does). */
    public static TensorData ofFloats(String name, DType dtype, float[] values, long... shape) {
        if (dtype == DType.F32) {
            return ofFloats(name, values, shape);
        }
        MemorySegment seg = MemorySegment.ofArray(new byte[values.length * 2]);
        for (int i = 0; i < values.length; i++) {
            short bits = dtype == DType.BF16 ? DType.floatToBf16(values[i]) : Float.floatToFloat16(values[i]);
            seg.setAtIndex(I16, i, bits);
        }
        return new TensorData(name, dtype, shape, seg);
    }
}
