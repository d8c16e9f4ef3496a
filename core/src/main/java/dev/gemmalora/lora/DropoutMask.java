package dev.gemmalora.lora;

import dev.gemmalora.tensor.Simd;
import dev.gemmalora.tensor.Parallel;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * LoRA's dropout mask as a counter hash of (seed, element index): any element's bit can be drawn
 * again on its own, so the backward pass redraws the mask instead of keeping a copy of the dropped
 * input (which was a third of a full tape and most of its GC copying), and the draw runs eight
 * lanes at a time on every thread instead of one sequential generator. {@link #keep} is the
 * scalar definition; the vector loops below give the same bits.
 */
public final class DropoutMask {
    private static final VectorSpecies<Float> F = Simd.F;
    private static final VectorSpecies<Integer> I = Simd.F.withLanes(int.class);
    /** Elements per task. */
    private static final int CHUNK = 1 << 15;
    private static final int M1 = 0x7feb352d;
    private static final int M2 = 0x846ca68b;

    private DropoutMask() {
    }

    /** Whether element i survives dropout p under seed: a 24-bit uniform draw at or above p. */
    public static boolean keep(long seed, int i, double p) {
        int h = mix(mix(i ^ key0(seed)) + key1(seed));
        return h >>> 8 >= threshold(p);
    }

    /**
     * dst = x masked and scaled by 1/(1-p) in the first n elements, as {@link #keep} draws the mask.
     * Either array may be longer (reused buffers); the rest is not touched.
     */
    public static void apply(float[] x, float[] dst, int n, long seed, double p) {
        run(x, dst, n, seed, p, false);
    }

    /** dst += src masked and scaled by 1/(1-p) in the first n elements: the input gradient of {@link #apply}. */
    public static void addMasked(float[] src, float[] dst, int n, long seed, double p) {
        run(src, dst, n, seed, p, true);
    }

    private static void run(float[] src, float[] dst, int n, long seed, double p, boolean add) {
        if (src.length < n || dst.length < n) {
            throw new IllegalArgumentException("dropout operands shorter than " + n);
        }
        int k0 = key0(seed);
        int k1 = key1(seed);
        int thr = threshold(p);
        float inv = (float) (1.0 / (1.0 - p));
        Parallel.forRange((n + CHUNK - 1) / CHUNK, c -> {
            int i = c * CHUNK;
            int end = Math.min(n, i + CHUNK);
            IntVector iota = IntVector.zero(I).addIndex(1);
            for (; i <= end - F.length(); i += F.length()) {
                IntVector h = mix(mix(iota.add(i).lanewise(VectorOperators.XOR, k0)).add(k1));
                VectorMask<Float> kept = h.lanewise(VectorOperators.LSHR, 8).compare(VectorOperators.GE, thr).cast(F);
                FloatVector v = FloatVector.fromArray(F, src, i).mul(inv);
                FloatVector d = FloatVector.zero(F).blend(v, kept);
                (add ? d.add(FloatVector.fromArray(F, dst, i)) : d).intoArray(dst, i);
            }
            for (; i < end; i++) {
                float d = keep(seed, i, p) ? src[i] * inv : 0f;
                dst[i] = add ? dst[i] + d : d;
            }
        });
    }

    /** Chris Wellons' lowbias32 integer finalizer. */
    private static int mix(int h) {
        h ^= h >>> 16;
        h *= M1;
        h ^= h >>> 15;
        h *= M2;
        return h ^ (h >>> 16);
    }

    private static IntVector mix(IntVector h) {
        h = h.lanewise(VectorOperators.XOR, h.lanewise(VectorOperators.LSHR, 16)).mul(M1);
        h = h.lanewise(VectorOperators.XOR, h.lanewise(VectorOperators.LSHR, 15)).mul(M2);
        return h.lanewise(VectorOperators.XOR, h.lanewise(VectorOperators.LSHR, 16));
    }

    /** The seed's two 32-bit keys, through SplitMix64's finalizer so nearby seeds give unrelated masks. */
    private static int key0(long seed) {
        return (int) splitMix(seed);
    }

    private static int key1(long seed) {
        return (int) (splitMix(seed) >>> 32);
    }

    private static long splitMix(long z) {
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }

    private static int threshold(double p) {
        return (int) Math.round(p * (1 << 24));
    }
}
