package dev.gemmalora.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Row statistics over a vocabulary of logits: max, argmax and log-sum-exp. Exponentials are taken
 * in float lanes, sums are carried in double (they decide losses and scores). Scalar twins below.
 */
public final class Softmax {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_256;
    private static final int LANES = F.length();

    private Softmax() {
    }

    public static float max(float[] x, int off, int n) {
        FloatVector m = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
        int i = 0;
        for (int bound = F.loopBound(n); i < bound; i += LANES) {
            m = m.max(FloatVector.fromArray(F, x, off + i));
        }
        float r = m.reduceLanes(VectorOperators.MAX);
        for (; i < n; i++) {
            r = Math.max(r, x[off + i]);
        }
        return r;
    }

    /** Index of the first maximum, as torch.argmax returns. */
    public static int argmax(float[] x, int off, int n) {
        float m = max(x, off, n);
        for (int i = 0; i < n; i++) {
            if (x[off + i] == m) {
                return i;
            }
        }
        return 0;
    }

    /** log(sum(exp(x))) over x[off .. off+n). */
    public static double logSumExp(float[] x, int off, int n) {
        float m = max(x, off, n);
        FloatVector mv = FloatVector.broadcast(F, m);
        double sum = 0;
        int i = 0;
        int bound = F.loopBound(n);
        while (i < bound) {
            // Float partial sums over short runs (each term <= 1), carried into double.
            FloatVector acc = FloatVector.zero(F);
            int end = Math.min(bound, i + 256 * LANES);
            for (; i < end; i += LANES) {
                acc = acc.add(FloatVector.fromArray(F, x, off + i).sub(mv).lanewise(VectorOperators.EXP));
            }
            sum += acc.reduceLanes(VectorOperators.ADD);
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
}
