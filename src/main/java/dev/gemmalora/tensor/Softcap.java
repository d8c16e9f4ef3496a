package dev.gemmalora.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/** Gemma's logit soft-capping c * tanh(x / c), vectorised over a vocabulary row; scalar twin below. */
public final class Softcap {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_256;

    private Softcap() {
    }

    public static void apply(float[] x, int off, int n, float cap) {
        FloatVector inv = FloatVector.broadcast(F, 1f / cap);
        FloatVector c = FloatVector.broadcast(F, cap);
        int i = 0;
        for (int bound = F.loopBound(n); i < bound; i += F.length()) {
            FloatVector.fromArray(F, x, off + i).mul(inv).lanewise(VectorOperators.TANH).mul(c).intoArray(x, off + i);
        }
        for (; i < n; i++) {
            x[off + i] = (float) (cap * Math.tanh(x[off + i] / cap));
        }
    }

    public static void applyScalar(float[] x, int off, int n, float cap) {
        for (int i = 0; i < n; i++) {
            x[off + i] = (float) (cap * Math.tanh(x[off + i] / cap));
        }
    }
}
