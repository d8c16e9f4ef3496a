package dev.gemmalora.gguf;

import dev.gemmalora.io.TensorData;

/**
 * One tensor of a GGUF file: its llama.cpp name, the type it is stored as, and where its values
 * come from (a checkpoint tensor in PyTorch's row-major layout, each value v written as
 * v * scale + shift). GGUF lists dimensions fastest first, so an [out, in] weight is ne = [in, out]
 * with the same bytes order.
 */
public record GgufTensor(String name, GgmlType type, TensorData source, float scale, float shift) {

    public GgufTensor {
        if (!type.fits(columns(source))) {
            throw new IllegalArgumentException(name + ": rows of " + columns(source) + " do not fill " + type + " blocks");
        }
    }

    public static GgufTensor of(String name, GgmlType type, TensorData source) {
        return new GgufTensor(name, type, source, 1, 0);
    }

    static long columns(TensorData t) {
        return t.shape()[t.shape().length - 1];
    }

    public long columns() {
        return columns(source);
    }

    public long rows() {
        return source.numel() / columns();
    }

    /** Dimensions as GGUF lists them, fastest-varying first. */
    public long[] ne() {
        long[] shape = source.shape();
        long[] ne = new long[shape.length];
        for (int i = 0; i < shape.length; i++) {
            ne[i] = shape[shape.length - 1 - i];
        }
        return ne;
    }

    public long bytes() {
        return rows() * type.rowBytes(columns());
    }

    /** Values of rows [first, first + count) into the start of into, scaled and shifted. */
    void readRows(long first, int count, float[] into) {
        long cols = columns();
        long start = first * cols;
        int n = Math.toIntExact(count * cols);
        for (int i = 0; i < n; i++) {
            into[i] = source.get(start + i) * scale + shift;
        }
    }
}
