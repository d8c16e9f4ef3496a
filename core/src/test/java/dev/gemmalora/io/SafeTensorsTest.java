package dev.gemmalora.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafeTensorsTest {
    @TempDir
    Path dir;

    /** A file with the given raw header text and data bytes. */
    Path raw(String header, int dataBytes) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h);
        Path f = dir.resolve("t.safetensors");
        Files.write(f, b.array());
        return f;
    }

    String messageOf(Path f) {
        return assertThrows(SafeTensorsException.class, () -> SafeTensorsFile.open(f)).getMessage();
    }

    @Test
    void roundTripsEveryDtypeWithAlignedHeader() throws IOException {
        float[] v = {1.5f, -2.25f, 3f, 0.1f, 65504f, -0f};
        var tensors = List.of(
                TensorData.ofFloats("a.f32", v, 2, 3),
                TensorData.ofFloats("b.bf16", DType.BF16, v, 3, 2),
                TensorData.ofFloats("c.f16", DType.F16, v, 6));
        Path f = dir.resolve("x.safetensors");
        SafeTensorsWriter.write(f, tensors, Map.of("format", "pt"));
        byte[] bytes = Files.readAllBytes(f);
        long headerLen = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertEquals(0, headerLen % 8, "header padded to 8 bytes");
        SafeTensorsFile st = SafeTensorsFile.open(f);
        assertEquals("pt", st.metadata().get("format"));
        assertArrayEquals(v, st.get("a.f32").toFloats());
        assertArrayEquals(new long[] {3, 2}, st.get("b.bf16").shape());
        assertEquals(DType.BF16, st.get("b.bf16").dtype());
        assertEquals(1.5f, st.get("b.bf16").get(0));
        assertEquals(0.1f, st.get("b.bf16").get(3), 1e-3);
        assertEquals(65504f, st.get("c.f16").get(4));
    }

    @Test
    void bf16RoundsToNearestEven() {
        // 1 + 2^-8 is halfway between two bf16 values: ties go to the even one (1.0).
        assertEquals(1.0f, DType.bf16ToFloat(DType.floatToBf16(1f + 0x1p-8f)));
        assertEquals(1f + 0x1p-7f, DType.bf16ToFloat(DType.floatToBf16(1f + 0x1p-8f + 0x1p-12f)));
    }

    @Test
    void rejectsTruncatedFile() throws IOException {
        Path f = raw("{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 8);
        String m = messageOf(f);
        assertTrue(m.contains("t.safetensors") && m.contains("'w'") && m.contains("truncated"), m);
    }

    @Test
    void rejectsHeaderLongerThanFile() throws IOException {
        Path f = dir.resolve("short.safetensors");
        Files.write(f, ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN).putLong(1000).array());
        assertTrue(messageOf(f).contains("header length 1000"));
    }

    @Test
    void rejectsBadJson() throws IOException {
        assertTrue(messageOf(raw("{not json", 0)).contains("not valid JSON"));
    }

    @Test
    void rejectsUnknownDtype() throws IOException {
        String m = messageOf(raw("{\"w\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]}}", 8));
        assertTrue(m.contains("'w'") && m.contains("I64"), m);
    }

    @Test
    void rejectsShapeThatDisagreesWithByteRange() throws IOException {
        String m = messageOf(raw("{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,16]}}", 16));
        assertTrue(m.contains("'w'") && m.contains("12 bytes"), m);
    }

    /** The shape of the report, and one whose element count fits a long but its bytes do not. */
    @Test
    void rejectsShapesLargerThanAnyFile() throws IOException {
        for (String shape : List.of("[1000000000000, 1000000000000]", "[4611686018427387904]")) {
            String m = messageOf(raw("{\"w\":{\"dtype\":\"F32\",\"shape\":" + shape + ",\"data_offsets\":[0,8]}}", 8));
            assertTrue(m.contains("'w'") && m.contains("more bytes than a file can hold"), m);
        }
    }

    @Test
    void rejectsOverlappingTensors() throws IOException {
        String m = messageOf(raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12));
        assertTrue(m.contains("overlaps"), m);
    }

    @Test
    void readsShardedCheckpointThroughIndex() throws IOException {
        SafeTensorsWriter.write(dir.resolve("model-00001-of-00002.safetensors"),
                List.of(TensorData.ofFloats("x", new float[] {1, 2}, 2)), Map.of());
        SafeTensorsWriter.write(dir.resolve("model-00002-of-00002.safetensors"),
                List.of(TensorData.ofFloats("y", new float[] {3}, 1)), Map.of());
        Files.writeString(dir.resolve(CheckpointTensors.INDEX), "{\"metadata\":{},\"weight_map\":{"
                + "\"x\":\"model-00001-of-00002.safetensors\",\"y\":\"model-00002-of-00002.safetensors\"}}");
        CheckpointTensors ck = CheckpointTensors.open(dir);
        assertArrayEquals(new float[] {1, 2}, ck.find("x").toFloats());
        assertArrayEquals(new float[] {3}, ck.find("y").toFloats());
    }
}
