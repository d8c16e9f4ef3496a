package dev.gemmalora.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The float vector every kernel uses: the widest this JVM compiles to, 16 lanes with AVX-512 and
 * 8 with AVX2. On a Zen 5 core 16-lane FMAs do twice the work of 8-lane ones in the same time
 * (an FMA loop: 420 against 207 GFLOP/s on two threads), so fixing the shape at 256 bits left
 * half of such a machine unused.
 */
public final class Simd {
    public static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    public static final int LANES = F.length();

    private Simd() {
    }
}
