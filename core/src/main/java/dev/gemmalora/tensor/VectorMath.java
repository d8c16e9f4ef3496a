package dev.gemmalora.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * exp and lane sums built only from IEEE add, mul, fma and bit operations, which give the same
 * bits whether the JIT intrinsifies the Vector API or runs its Java fallback. The library's
 * EXP and reduceLanes(ADD) do not (a different polynomial, a different summation order), and
 * that made results depend on JIT warm-up: a resumed run would not reproduce an uninterrupted one.
 */
public final class VectorMath {
    private static final VectorSpecies<Float> F = Simd.F;
    private static final int LANES = F.length();
    private static final float LOG2E = 1.44269504088896341f;
    private static final float LN2_HI = 0.693359375f;
    private static final float LN2_LO = -2.12194440e-4f;
    private static final float MAX_ARG = 88.3762626647949f;
    private static final float MIN_ARG = -87.3365478515625f;
    @SuppressWarnings("unchecked")
    private static final VectorShuffle<Float>[] HALVES = new VectorShuffle[Integer.numberOfTrailingZeros(LANES)];

    static {
        for (int s = 0; s < HALVES.length; s++) {
            int half = LANES >> (s + 1);
            HALVES[s] = VectorShuffle.fromOp(F, i -> (i + half) % LANES);
        }
    }

    private VectorMath() {
    }

    /** e^x per lane, Cephes' expf polynomial: within 2 ulp; saturates outside [-87.3, 88.4]. */
    public static FloatVector exp(FloatVector x) {
        x = x.max(MIN_ARG).min(MAX_ARG);
        FloatVector fx = x.fma(FloatVector.broadcast(F, LOG2E), FloatVector.broadcast(F, 0.5f));
        FloatVector t = ((IntVector) fx.convert(VectorOperators.F2I, 0)).convert(VectorOperators.I2F, 0).reinterpretAsFloats();
        FloatVector n = t.sub(FloatVector.broadcast(F, 1f).blend(0f, t.compare(VectorOperators.LE, fx)));
        FloatVector r = n.fma(FloatVector.broadcast(F, -LN2_HI), x);
        r = n.fma(FloatVector.broadcast(F, -LN2_LO), r);
        FloatVector p = FloatVector.broadcast(F, 1.9875691500e-4f);
        p = p.fma(r, FloatVector.broadcast(F, 1.3981999507e-3f));
        p = p.fma(r, FloatVector.broadcast(F, 8.3334519073e-3f));
        p = p.fma(r, FloatVector.broadcast(F, 4.1665795894e-2f));
        p = p.fma(r, FloatVector.broadcast(F, 1.6666665459e-1f));
        p = p.fma(r, FloatVector.broadcast(F, 5.0000001201e-1f));
        FloatVector y = p.fma(r.mul(r), r).add(1f);
        IntVector bits = ((IntVector) n.convert(VectorOperators.F2I, 0)).add(127).lanewise(VectorOperators.LSHL, 23);
        return y.mul(bits.reinterpretAsFloats());
    }

    private static final float GELU_2C = (float) (2 * Math.sqrt(2 / Math.PI));
    private static final float GELU_K = 0.044715f;

    /**
     * d = 1 + e^(-2 c (x + k x^3)). The tanh-approximated gelu 0.5 x (1 + tanh(c (x + k x^3)))
     * equals x sigmoid(2 c (x + k x^3)) = x / d, which needs one exp and no tanh; lanes agree with
     * the double formula to a few ulp (where d is huge, gelu is tiny and the error with it).
     */
    public static FloatVector geluDenominator(FloatVector x) {
        FloatVector inner = x.mul(x).fma(FloatVector.broadcast(F, GELU_K), FloatVector.broadcast(F, 1f)).mul(x);
        return exp(inner.mul(-GELU_2C)).add(1f);
    }

    /** d gelu / dx = s + x s (1 - s) 2c (1 + 3k x^2), with s = 1 / d the sigmoid. */
    public static FloatVector geluGrad(FloatVector x, FloatVector d) {
        FloatVector slope = x.mul(x).fma(FloatVector.broadcast(F, 3 * GELU_K), FloatVector.broadcast(F, 1f)).mul(GELU_2C);
        FloatVector s = FloatVector.broadcast(F, 1f).div(d);
        return x.mul(s).mul(s.neg().add(1f)).fma(slope, s);
    }

    /** Sum of the lanes in a fixed tree order. */
    public static float sum(FloatVector v) {
        for (VectorShuffle<Float> s : HALVES) {
            v = v.add(v.rearrange(s));
        }
        return v.lane(0);
    }
}
