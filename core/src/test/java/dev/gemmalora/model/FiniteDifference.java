package dev.gemmalora.model;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import java.util.function.Function;

/**
 * Central finite differences in double precision of L(x) = sum(w * f(x)), where f is the
 * op's double twin ({@link DoubleReference}), against the fp32 analytic gradient of the engine.
 */
public final class FiniteDifference {
    private static final double EPS = 1e-6;
    private static final double TOL = 2e-4;

    private FiniteDifference() {
    }

    public static float[] random(Random r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) r.nextGaussian();
        }
        return a;
    }

    static double weighted(double[] y, float[] w) {
        double s = 0;
        for (int i = 0; i < y.length; i++) {
            s += y[i] * w[i];
        }
        return s;
    }

    /** Asserts that grad (the engine's dL/dx at x, for output weights w) agrees with finite differences of the twin f. */
    public static void check(Function<double[], double[]> f, float[] x, float[] w, float[] grad, String what) {
        check(v -> weighted(f.apply(v), w), x, grad, what);
    }

    /** The same for a scalar function L(x). */
    public static void check(java.util.function.ToDoubleFunction<double[]> loss, float[] x, float[] grad, String what) {
        double[] d = DoubleReference.widen(x);
        double worst = 0;
        for (int i = 0; i < d.length; i++) {
            double keep = d[i];
            d[i] = keep + EPS;
            double up = loss.applyAsDouble(d);
            d[i] = keep - EPS;
            double down = loss.applyAsDouble(d);
            d[i] = keep;
            double numeric = (up - down) / (2 * EPS);
            worst = Math.max(worst, Math.abs(numeric - grad[i]) / Math.max(1.0, Math.abs(numeric)));
        }
        assertTrue(worst < TOL, what + ": worst relative error " + worst);
    }
}
