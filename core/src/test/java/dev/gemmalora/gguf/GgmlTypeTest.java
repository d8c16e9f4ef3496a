package dev.gemmalora.gguf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

/** The byte layouts llama.cpp reads, on values whose encoding is known by hand. */
class GgmlTypeTest {
    static ByteBuffer encode(GgmlType t, float... v) {
        ByteBuffer b = ByteBuffer.allocate((int) t.rowBytes(v.length)).order(ByteOrder.LITTLE_ENDIAN);
        t.encode(v, 0, v.length, b);
        assertEquals(b.capacity(), b.position(), "rowBytes is what encode writes");
        return b.flip();
    }

    /** block_q8_0: f16 d = max|x| / 127, then round(x / d) with halves away from zero, as C's roundf. */
    @Test
    void q8BlocksHaveAnF16ScaleAndRoundHalvesAwayFromZero() {
        float[] v = new float[64];
        v[0] = 127;
        v[1] = -63.5f;
        v[2] = 0.5f;
        v[3] = -0.5f;
        v[4] = 0.49999997f; // rounds down: adding 0.5 in float would round it up to 1
        v[5] = -127;
        // second block all zero: d = 0 and every q 0
        ByteBuffer b = encode(GgmlType.Q8_0, v);
        assertEquals(68, b.remaining());
        assertEquals(Float.floatToFloat16(1f), b.getShort());
        byte[] q = new byte[32];
        b.get(q);
        byte[] want = new byte[32];
        want[0] = 127;
        want[1] = -64;
        want[2] = 1;
        want[3] = -1;
        want[4] = 0;
        want[5] = -127;
        assertArrayEquals(want, q);
        assertEquals(0, b.getShort());
        b.get(q);
        assertArrayEquals(new byte[32], q);
    }

    @Test
    void q8ScaleIsTheBlockMaximumOver127RoundedToF16() {
        float[] v = new float[32];
        for (int i = 0; i < 32; i++) {
            v[i] = (i - 16) * 0.01f;
        }
        ByteBuffer b = encode(GgmlType.Q8_0, v);
        float d = Float.float16ToFloat(b.getShort());
        assertEquals(Float.float16ToFloat(Float.floatToFloat16(0.16f / 127)), d);
        assertEquals(-127, b.get(), "-0.16 is the block's largest magnitude");
    }

    @Test
    void halfTypesRoundToNearestEven() {
        // 1 + 2^-11 is halfway between two f16 values: even rounds down to 1; bf16 the same at 1 + 2^-8.
        assertEquals(Float.floatToFloat16(1f), encode(GgmlType.F16, 1f + 0x1p-11f).getShort());
        assertEquals((short) 0x3f80, encode(GgmlType.BF16, 1f + 0x1p-8f).getShort());
        assertEquals((short) 0x3f82, encode(GgmlType.BF16, 1f + 0x3p-8f).getShort());
        assertEquals(1.5f, encode(GgmlType.F32, 1.5f).getFloat());
    }
}
