package dev.gemmalora.io;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One memory-mapped safetensors file. Tensors are slices of the mapping: nothing is copied to the
 * heap. The header is validated in full before any tensor is handed out.
 */
public final class SafeTensorsFile {
    private final Path path;
    private final Map<String, TensorData> tensors;
    private final Map<String, String> metadata;

    private SafeTensorsFile(Path path, Map<String, TensorData> tensors, Map<String, String> metadata) {
        this.path = path;
        this.tensors = tensors;
        this.metadata = metadata;
    }

    public static SafeTensorsFile open(Path path) {
        if (!Files.isRegularFile(path)) {
            throw new SafeTensorsException(path + ": file not found");
        }
        MemorySegment file;
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            // An automatic arena: the mapping lives as long as any tensor slice is reachable.
            file = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), Arena.ofAuto());
        } catch (IOException e) {
            throw new SafeTensorsException(path + ": cannot be read (" + e.getMessage() + ")", e);
        }
        return parse(path, file);
    }

    static SafeTensorsFile parse(Path path, MemorySegment file) {
        long size = file.byteSize();
        if (size < 8) {
            throw new SafeTensorsException(path + ": truncated safetensors file (" + size + " bytes, no header length)");
        }
        long headerLen = file.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0);
        if (headerLen <= 0 || headerLen > size - 8) {
            throw new SafeTensorsException(path + ": header length " + headerLen
                    + " does not fit in the file of " + size + " bytes (truncated or not safetensors)");
        }
        byte[] headerBytes = file.asSlice(8, headerLen).toArray(ValueLayout.JAVA_BYTE);
        JsonNode header;
        try {
            header = Json.MAPPER.readTree(new String(headerBytes, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new SafeTensorsException(path + ": header is not valid JSON (" + e.getMessage().lines().findFirst().orElse("") + ")", e);
        }
        if (header == null || !header.isObject()) {
            throw new SafeTensorsException(path + ": header is not a JSON object");
        }
        long dataStart = 8 + headerLen;
        long dataSize = size - dataStart;
        Map<String, TensorData> tensors = new LinkedHashMap<>();
        Map<String, String> metadata = new LinkedHashMap<>();
        List<long[]> ranges = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String name = e.getKey();
            JsonNode info = e.getValue();
            if (name.equals("__metadata__")) {
                info.fields().forEachRemaining(m -> metadata.put(m.getKey(), m.getValue().asText()));
                continue;
            }
            String where = path + ": tensor '" + name + "'";
            DType dtype = DType.fromHeader(info.path("dtype").asText(""));
            if (dtype == null) {
                throw new SafeTensorsException(where + " has dtype '" + info.path("dtype").asText("")
                        + "', expected one of F32, BF16, F16");
            }
            JsonNode shapeNode = info.path("shape");
            JsonNode offs = info.path("data_offsets");
            if (!shapeNode.isArray() || !offs.isArray() || offs.size() != 2) {
                throw new SafeTensorsException(where + " needs a 'shape' array and 'data_offsets' [begin, end]");
            }
            long[] shape = new long[shapeNode.size()];
            long numel = 1;
            for (int i = 0; i < shape.length; i++) {
                if (!shapeNode.get(i).canConvertToLong() || shapeNode.get(i).asLong() < 0) {
                    throw new SafeTensorsException(where + " has a bad shape " + shapeNode);
                }
                shape[i] = shapeNode.get(i).asLong();
                numel = elements(numel, shape[i], dtype, where, shapeNode);
            }
            long begin = offs.get(0).asLong(-1);
            long end = offs.get(1).asLong(-1);
            if (begin < 0 || end < begin) {
                throw new SafeTensorsException(where + " has bad data_offsets " + offs);
            }
            if (end - begin != numel * dtype.bytes) {
                throw new SafeTensorsException(where + ": shape " + shapeNode + " x " + dtype + " is "
                        + numel * dtype.bytes + " bytes but data_offsets " + offs + " span " + (end - begin));
            }
            if (end > dataSize) {
                throw new SafeTensorsException(where + ": data_offsets " + offs + " run past the end of the data ("
                        + dataSize + " bytes); the file is truncated");
            }
            ranges.add(new long[] {begin, end, tensors.size()});
            tensors.put(name, new TensorData(name, dtype, shape, file.asSlice(dataStart + begin, end - begin)));
        }
        checkNoOverlap(path, ranges, new ArrayList<>(tensors.keySet()));
        return new SafeTensorsFile(path, Collections.unmodifiableMap(tensors), Collections.unmodifiableMap(metadata));
    }

    /** numel x dim, refusing a shape whose bytes no file can hold (a long overflow otherwise). */
    private static long elements(long numel, long dim, DType dtype, String where, JsonNode shape) {
        try {
            long n = Math.multiplyExact(numel, dim);
            Math.multiplyExact(n, (long) dtype.bytes);
            return n;
        } catch (ArithmeticException e) {
            throw new SafeTensorsException(where + ": shape " + shape + " x " + dtype + " is more bytes than a file can hold;"
                    + " the header is damaged");
        }
    }

    private static void checkNoOverlap(Path path, List<long[]> ranges, List<String> names) {
        ranges.sort((a, b) -> Long.compare(a[0], b[0]));
        for (int i = 1; i < ranges.size(); i++) {
            long[] prev = ranges.get(i - 1);
            long[] cur = ranges.get(i);
            if (cur[0] < prev[1] && cur[1] > cur[0]) {
                throw new SafeTensorsException(path + ": tensor '" + names.get((int) cur[2])
                        + "' overlaps tensor '" + names.get((int) prev[2]) + "'");
            }
        }
    }

    public Path path() {
        return path;
    }

    public Map<String, TensorData> tensors() {
        return tensors;
    }

    public Map<String, String> metadata() {
        return metadata;
    }

    public TensorData get(String name) {
        TensorData t = tensors.get(name);
        if (t == null) {
            throw new SafeTensorsException(path + ": no tensor named '" + name + "'");
        }
        return t;
    }
}
