package dev.gemmalora.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * out[o0 .. o0+n) += sum over c of w[c] * src[off[c] .. off[c]+n): attention's weighted sums of
 * value, key, query and output-gradient rows. As one axpy per row, every term loaded and stored
 * the output again; here 64 outputs stay in registers while the rows stream past (20-30% faster;
 * the rows themselves still come from L2 for each query). Each output adds its terms in order of
 * c, one FMA each, starting from its current value: the same bits the axpys gave.
 * {@link GemmScalar#addWeightedRows} is the plain twin.
 */
public final class WeightedRows {
    private static final VectorSpecies<Float> F = Simd.F;
    private static final int LANES = F.length();
    private static final int BLOCK = 8 * LANES;

    private WeightedRows() {
    }

    public static void add(float[] out, int o0, int n, float[] src, int[] off, float[] w, int count) {
        if (o0 < 0 || o0 + n > out.length || count > off.length || count > w.length) {
            throw new IllegalArgumentException("weighted rows: output " + o0 + "+" + n + " of " + out.length + ", " + count + " terms");
        }
        for (int c = 0; c < count; c++) {
            if (off[c] < 0 || off[c] + n > src.length) {
                throw new IllegalArgumentException("weighted rows: row " + off[c] + "+" + n + " outside " + src.length);
            }
        }
        int d = 0;
        for (; d + BLOCK <= n; d += BLOCK) {
            block(out, o0 + d, src, off, d, w, count);
        }
        for (; d + LANES <= n; d += LANES) {
            FloatVector acc = FloatVector.fromArray(F, out, o0 + d);
            for (int c = 0; c < count; c++) {
                acc = FloatVector.fromArray(F, src, off[c] + d).fma(FloatVector.broadcast(F, w[c]), acc);
            }
            acc.intoArray(out, o0 + d);
        }
        for (; d < n; d++) {
            float s = out[o0 + d];
            for (int c = 0; c < count; c++) {
                s += w[c] * src[off[c] + d];
            }
            out[o0 + d] = s;
        }
    }

    /** Outputs [o, o + 64): eight vectors in registers over all the terms. */
    private static void block(float[] out, int o, float[] src, int[] off, int d, float[] w, int count) {
        FloatVector a0 = FloatVector.fromArray(F, out, o);
        FloatVector a1 = FloatVector.fromArray(F, out, o + LANES);
        FloatVector a2 = FloatVector.fromArray(F, out, o + 2 * LANES);
        FloatVector a3 = FloatVector.fromArray(F, out, o + 3 * LANES);
        FloatVector a4 = FloatVector.fromArray(F, out, o + 4 * LANES);
        FloatVector a5 = FloatVector.fromArray(F, out, o + 5 * LANES);
        FloatVector a6 = FloatVector.fromArray(F, out, o + 6 * LANES);
        FloatVector a7 = FloatVector.fromArray(F, out, o + 7 * LANES);
        for (int c = 0; c < count; c++) {
            FloatVector s = FloatVector.broadcast(F, w[c]);
            int r = off[c] + d;
            a0 = FloatVector.fromArray(F, src, r).fma(s, a0);
            a1 = FloatVector.fromArray(F, src, r + LANES).fma(s, a1);
            a2 = FloatVector.fromArray(F, src, r + 2 * LANES).fma(s, a2);
            a3 = FloatVector.fromArray(F, src, r + 3 * LANES).fma(s, a3);
            a4 = FloatVector.fromArray(F, src, r + 4 * LANES).fma(s, a4);
            a5 = FloatVector.fromArray(F, src, r + 5 * LANES).fma(s, a5);
            a6 = FloatVector.fromArray(F, src, r + 6 * LANES).fma(s, a6);
            a7 = FloatVector.fromArray(F, src, r + 7 * LANES).fma(s, a7);
        }
        a0.intoArray(out, o);
        a1.intoArray(out, o + LANES);
        a2.intoArray(out, o + 2 * LANES);
        a3.intoArray(out, o + 3 * LANES);
        a4.intoArray(out, o + 4 * LANES);
        a5.intoArray(out, o + 5 * LANES);
        a6.intoArray(out, o + 6 * LANES);
        a7.intoArray(out, o + 7 * LANES);
    }
}
