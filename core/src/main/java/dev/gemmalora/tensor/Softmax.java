package dev.gemmalora.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Row statistics over a vocabulary of logits: max, argmax and log-sum-exp. Exponentials are taken
 * in float lanes, sums are carried in double (they decide losses and scores). Scalar twins below.
 */
public final class Softmax {
    private static final VectorSpecies<Float> F = Simd.F;
    private static final int LANES = F.length();

    private Softmax() {
    }

    public static float max(float[] x, int off, int n) {
        // Four independent chains: a single one is bound by the latency of max.
        FloatVector m0 = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
        FloatVector m1 = m0, m2 = m0, m3 = m0;
        int i = 0;
        for (int bound = n - 4 * LANES; i <= bound; i += 4 * LANES) {
            m0 = m0.max(FloatVector.fromArray(F, x, off + i));
            m1 = m1.max(FloatVector.fromArray(F, x, off + i + LANES));
            m2 = m2.max(FloatVector.fromArray(F, x, off + i + 2 * LANES));
            m3 = m3.max(FloatVector.fromArray(F, x, off + i + 3 * LANES));
        }
        float r = m0.max(m1).max(m2.max(m3)).reduceLanes(VectorOperators.MAX);
        for (; i < n; i++) {
            r = Math.max(r, x[off + i]);
        }
        return r;
    }

    /** Index of the first element equal to max (torch.argmax's choice when max is the row's maximum). */
    public static int indexOf(float[] x, int off, int n, float max) {
        for (int i = 0; i < n; i++) {
            if (x[off + i] == max) {
                return i;
            }
        }
        return 0;
    }

    /** Index of the first maximum, as torch.argmax returns. */
    public static int argmax(float[] x, int off, int n) {
        return indexOf(x, off, n, max(x, off, n));
    }

    /** log(sum(exp(x))) over x[off .. off+n). */
    public static double logSumExp(float[] x, int off, int n) {
        return logSumExp(x, off, n, max(x, off, n));
    }

    /** log(sum(exp(x))) given the row's maximum m. */
    public static double logSumExp(float[] x, int off, int n, float m) {
        FloatVector mv = FloatVector.broadcast(F, m);
        double sum = 0;
        int i = 0;
        int bound = F.loopBound(n);
        while (i < bound) {
            // Float partial sums over short runs (each term <= 1), carried into double.
            FloatVector acc = FloatVector.zero(F);
            int end = Math.min(bound, i + 256 * LANES);
            for (; i < end; i += LANES) {
                acc = acc.add(VectorMath.exp(FloatVector.fromArray(F, x, off + i).sub(mv)));
            }
            sum += VectorMath.sum(acc);
        }
        for (; i < n; i++) {
            sum += Math.exp(x[off + i] - m);
        }
        return m + Math.log(sum);
    }

    /** Scalar twin of {@link #logSumExp}, all in double. */
    public static double logSumExpScalar(float[] x, int off, int n) {
        double m = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            m = Math.max(m, x[off + i]);
        }
        double sum = 0;
        for (int i = 0; i < n; i++) {
            sum += Math.exp(x[off + i] - m);
        }
        return m + Math.log(sum);
    }

    /**
     * Turns a row of soft-capped logits l into the gradient of scale * cross-entropy with respect
     * to the raw (pre-cap) logits, leaving out the target's -1: x[i] = scale * softmax(l)[i] *
     * (1 - (l[i]/cap)^2). cap = 0 means no capping.
     */
    public static void crossEntropyGrad(float[] x, int off, int n, double lse, float scale, float cap) {
        FloatVector lv = FloatVector.broadcast(F, (float) lse);
        FloatVector sv = FloatVector.broadcast(F, scale);
        FloatVector one = FloatVector.broadcast(F, 1f);
        FloatVector inv = FloatVector.broadcast(F, cap == 0 ? 0f : 1f / cap);
        int i = 0;
        for (int bound = F.loopBound(n); i < bound; i += LANES) {
            FloatVector l = FloatVector.fromArray(F, x, off + i);
            FloatVector t = l.mul(inv);
            VectorMath.exp(l.sub(lv)).mul(sv).mul(one.sub(t.mul(t))).intoArray(x, off + i);
        }
        for (; i < n; i++) {
            float t = cap == 0 ? 0f : x[off + i] / cap;
            x[off + i] = (float) (Math.exp(x[off + i] - lse) * scale * (1 - t * t));
        }
    }
}
