package dev.gemmalora.gguf;

import dev.gemmalora.io.DType;
import dev.gemmalora.io.InputException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * The tensor types an export writes, with ggml's type ids, the llama_ftype each gives a whole
 * file (general.file_type) and their byte layouts: little-endian floats, and Q8_0 as ggml's
 * block_q8_0 (32 values: an f16 scale d, then 32 int8 q with x ~ d * q).
 */
public enum GgmlType {
    F32(0, 0, 1, 4), F16(1, 1, 1, 2), BF16(30, 32, 1, 2), Q8_0(8, 7, 32, 34);

    public static final int Q8_0_BLOCK = 32;

    /** ggml_type, as each tensor's info names it. */
    public final int id;
    /** llama_ftype of a file whose matrices are of this type. */
    public final int fileType;
    /** Values per block and bytes per block. */
    public final int blockValues;
    public final int blockBytes;

    GgmlType(int id, int fileType, int blockValues, int blockBytes) {
        this.id = id;
        this.fileType = fileType;
        this.blockValues = blockValues;
        this.blockBytes = blockBytes;
    }

    /** The --type spelling: f32, f16, bf16, q8_0. */
    public String optionName() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static GgmlType parse(String name, String option) {
        for (GgmlType t : values()) {
            if (t.optionName().equals(name.toLowerCase(Locale.ROOT))) {
                return t;
            }
        }
        throw new InputException(option + " is '" + name + "', expected one of "
                + Arrays.stream(values()).map(GgmlType::optionName).collect(Collectors.joining(", ")));
    }

    /** Bytes of a row of n values; n is a whole number of blocks. */
    public long rowBytes(long n) {
        return n / blockValues * blockBytes;
    }

    /** Whether a row of n values fits this type's blocks. */
    public boolean fits(long n) {
        return n % blockValues == 0;
    }

    /** Encodes count values from v[from] into out (a whole number of blocks), little-endian. */
    public void encode(float[] v, int from, int count, ByteBuffer out) {
        switch (this) {
            case F32 -> {
                for (int i = 0; i < count; i++) {
                    out.putFloat(v[from + i]);
                }
            }
            case F16 -> {
                for (int i = 0; i < count; i++) {
                    out.putShort(Float.floatToFloat16(v[from + i]));
                }
            }
            case BF16 -> {
                for (int i = 0; i < count; i++) {
                    out.putShort(DType.floatToBf16(v[from + i]));
                }
            }
            case Q8_0 -> {
                for (int b = 0; b < count; b += Q8_0_BLOCK) {
                    quantizeQ8Block(v, from + b, out);
                }
            }
        }
    }

    /**
     * ggml's quantize_row_q8_0_ref: d = max|x| / 127, q = round(x / d) rounding half away from zero
     * (C's roundf), computed as x * (1/d) in fp32 as ggml does; d is stored as f16.
     */
    static void quantizeQ8Block(float[] v, int from, ByteBuffer out) {
        float amax = 0;
        for (int j = 0; j < Q8_0_BLOCK; j++) {
            amax = Math.max(amax, Math.abs(v[from + j]));
        }
        float d = amax / 127;
        float id = d != 0 ? 1.0f / d : 0.0f;
        out.putShort(Float.floatToFloat16(d));
        for (int j = 0; j < Q8_0_BLOCK; j++) {
            float x = v[from + j] * id;
            out.put((byte) (int) Math.copySign(Math.floor(Math.abs((double) x) + 0.5), x));
        }
    }
}
