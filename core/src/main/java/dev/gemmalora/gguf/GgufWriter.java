package dev.gemmalora.gguf;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.function.LongConsumer;

/**
 * Writes a GGUF version 3 file as ggml's gguf.cpp reads it: magic, version, counts, typed key/value
 * metadata, tensor infos (name, dims fastest first, ggml type, offset into the data), then each
 * tensor's bytes at a multiple of the 32-byte default alignment. All integers little-endian,
 * strings as a u64 byte count and UTF-8 bytes.
 */
public final class GgufWriter {
    static final int MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
    static final int VERSION = 3;
    static final int ALIGNMENT = 32;

    /** Value types of the metadata. */
    static final int UINT32 = 4;
    static final int INT32 = 5;
    static final int FLOAT32 = 6;
    static final int BOOL = 7;
    static final int STRING = 8;
    static final int ARRAY = 9;

    private final Bytes metadata = new Bytes();
    private int keys;
    private final List<GgufTensor> tensors = new ArrayList<>();

    public GgufWriter putString(String key, String value) {
        metadata.string(key).u32(STRING).string(value);
        keys++;
        return this;
    }

    public GgufWriter putU32(String key, long value) {
        metadata.string(key).u32(UINT32).u32(Math.toIntExact(value));
        keys++;
        return this;
    }

    public GgufWriter putF32(String key, double value) {
        metadata.string(key).u32(FLOAT32).f32((float) value);
        keys++;
        return this;
    }

    public GgufWriter putBool(String key, boolean value) {
        metadata.string(key).u32(BOOL).u8(value ? 1 : 0);
        keys++;
        return this;
    }

    public GgufWriter putStrings(String key, List<String> values) {
        metadata.string(key).u32(ARRAY).u32(STRING).u64(values.size());
        values.forEach(metadata::string);
        keys++;
        return this;
    }

    public GgufWriter putF32s(String key, float[] values) {
        metadata.string(key).u32(ARRAY).u32(FLOAT32).u64(values.length);
        for (float v : values) {
            metadata.f32(v);
        }
        keys++;
        return this;
    }

    public GgufWriter putI32s(String key, int[] values) {
        metadata.string(key).u32(ARRAY).u32(INT32).u64(values.length);
        for (int v : values) {
            metadata.u32(v);
        }
        keys++;
        return this;
    }

    public GgufWriter add(GgufTensor t) {
        tensors.add(t);
        return this;
    }

    /** The file's size in bytes. */
    public long size() {
        return dataStart() + dataBytes();
    }

    private byte[] header() {
        Bytes h = new Bytes().u32(MAGIC).u32(VERSION).u64(tensors.size()).u64(keys);
        h.raw(metadata.toByteArray());
        long offset = 0;
        for (GgufTensor t : tensors) {
            long[] ne = t.ne();
            h.string(t.name()).u32(ne.length);
            for (long d : ne) {
                h.u64(d);
            }
            h.u32(t.type().id).u64(offset);
            offset = align(offset + t.bytes());
        }
        return h.toByteArray();
    }

    private long dataStart() {
        return align(header().length);
    }

    private long dataBytes() {
        long offset = 0;
        for (GgufTensor t : tensors) {
            offset = align(offset + t.bytes());
        }
        return offset;
    }

    static long align(long n) {
        return (n + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
    }

    /**
     * Writes the file under a hidden name beside target, then renames it into place (replacing
     * target if it exists): a failure or a kill never leaves a partial file under target's name.
     * progress gets the bytes written so far.
     */
    public void write(Path target, LongConsumer progress) throws IOException {
        Path tmp = target.toAbsolutePath().resolveSibling("." + target.getFileName() + ".partial");
        try {
            writeTo(tmp, progress);
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    private void writeTo(Path file, LongConsumer progress) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.WRITE)) {
            byte[] header = header();
            long written = writeAll(ch, ByteBuffer.wrap(header));
            written += padTo(ch, written);
            long dataStart = written;
            for (GgufTensor t : tensors) {
                written += writeTensor(ch, t, progress, written);
                written += padTo(ch, written - dataStart);
                progress.accept(written);
            }
            ch.force(true);
        }
    }

    private static long writeTensor(FileChannel ch, GgufTensor t, LongConsumer progress, long before) throws IOException {
        int cols = Math.toIntExact(t.columns());
        int chunkRows = Math.max(1, (1 << 20) / cols);
        float[] values = new float[chunkRows * cols];
        ByteBuffer out = ByteBuffer.allocate(Math.toIntExact(t.type().rowBytes(cols) * chunkRows)).order(ByteOrder.LITTLE_ENDIAN);
        long written = 0;
        for (long r = 0; r < t.rows(); r += chunkRows) {
            int n = (int) Math.min(chunkRows, t.rows() - r);
            t.readRows(r, n, values);
            out.clear();
            t.type().encode(values, 0, n * cols, out);
            out.flip();
            written += writeAll(ch, out);
            progress.accept(before + written);
        }
        return written;
    }

    private static long padTo(FileChannel ch, long position) throws IOException {
        int pad = (int) (align(position) - position);
        return pad == 0 ? 0 : writeAll(ch, ByteBuffer.allocate(pad));
    }

    private static long writeAll(FileChannel ch, ByteBuffer b) throws IOException {
        long n = b.remaining();
        while (b.hasRemaining()) {
            ch.write(b);
        }
        return n;
    }

    /** A growing little-endian byte buffer for the header. */
    private static final class Bytes extends ByteArrayOutputStream {
        private final ByteBuffer scratch = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);

        Bytes u8(int v) {
            write(v);
            return this;
        }

        Bytes u32(int v) {
            write(scratch.clear().putInt(v).array(), 0, 4);
            return this;
        }

        Bytes u64(long v) {
            write(scratch.clear().putLong(v).array(), 0, 8);
            return this;
        }

        Bytes f32(float v) {
            return u32(Float.floatToRawIntBits(v));
        }

        Bytes string(String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            u64(b.length);
            write(b, 0, b.length);
            return this;
        }

        Bytes raw(byte[] b) {
            write(b, 0, b.length);
            return this;
        }
    }
}
