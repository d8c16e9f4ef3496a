package dev.gemmalora.io;

import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.Map;
import java.util.function.UnaryOperator;

/** Writes safetensors files as HF's library does: 8-byte-aligned header padded with spaces. */
public final class SafeTensorsWriter {
    private SafeTensorsWriter() {
    }

    public static void write(Path file, Collection<TensorData> tensors, Map<String, String> metadata) throws IOException {
        write(file, tensors, metadata, UnaryOperator.identity());
    }

    /**
     * Writes the tensors' headers, then each tensor's bytes as transform(tensor) gives them; the
     * transform must keep name, dtype and shape (it may, e.g., merge a LoRA delta).
     */
    public static void write(Path file, Collection<TensorData> tensors, Map<String, String> metadata,
                             UnaryOperator<TensorData> transform) throws IOException {
        ObjectNode header = Json.MAPPER.createObjectNode();
        if (metadata != null && !metadata.isEmpty()) {
            ObjectNode meta = header.putObject("__metadata__");
            metadata.forEach(meta::put);
        }
        long offset = 0;
        for (TensorData t : tensors) {
            ObjectNode info = header.putObject(t.name());
            info.put("dtype", t.dtype().name());
            var shape = info.putArray("shape");
            for (long d : t.shape()) {
                shape.add(d);
            }
            long len = t.data().byteSize();
            info.putArray("data_offsets").add(offset).add(offset + len);
            offset += len;
        }
        byte[] json = Json.MAPPER.writer().without(SerializationFeature.INDENT_OUTPUT)
                .writeValueAsString(header).getBytes(StandardCharsets.UTF_8);
        int padded = (json.length + 7) / 8 * 8;
        byte[] headerBytes = new byte[padded];
        System.arraycopy(json, 0, headerBytes, 0, json.length);
        for (int i = json.length; i < padded; i++) {
            headerBytes[i] = ' ';
        }
        try (OutputStream out = Files.newOutputStream(file)) {
            out.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded).array());
            out.write(headerBytes);
            byte[] buf = new byte[1 << 20];
            for (TensorData original : tensors) {
                TensorData t = transform.apply(original);
                long len = t.data().byteSize();
                if (len != original.data().byteSize()) {
                    throw new IllegalStateException(t.name() + ": transform changed the tensor's size");
                }
                for (long pos = 0; pos < len; pos += buf.length) {
                    int n = (int) Math.min(buf.length, len - pos);
                    MemorySegment.copy(t.data(), ValueLayout.JAVA_BYTE, pos, buf, 0, n);
                    out.write(buf, 0, n);
                }
            }
        }
    }
}
