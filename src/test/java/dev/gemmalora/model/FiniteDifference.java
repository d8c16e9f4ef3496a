package dev.gemmalora.model;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import java.util.function.Function;

/**
 * Central finite differences of L(x) = sum(w * f(x)), accumulated in double, against an analytic
 * input gradient. The engine's ops run in fp32, so the step is sized for fp32 rounding.
 */
public final class FiniteDifference {
    private FiniteDifference() {
    }

    public static float[] random(Random r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) r.nextGaussian();
        }
        return a;
    }

    static double weighted(float[] y, float[] w) {
        double s = 0;
        for (int i = 0; i < y.length; i++) {
            s += (double) y[i] * w[i];
        }
        return s;
    }

    /** Asserts that grad (dL/dx at x, for output weights w) agrees with finite differences of f. */
    public static void check(Function<float[], float[]> f, float[] x, float[] w, float[] grad, String what) {
        double eps = 1e-2;
        double worst = 0;
        for (int i = 0; i < x.length; i++) {
            float keep = x[i];
            x[i] = (float) (keep + eps);
            double up = weighted(f.apply(x), w);
            x[i] = (float) (keep - eps);
            double down = weighted(f.apply(x), w);
            x[i] = keep;
            double numeric = (up - down) / (2 * eps);
            double err = Math.abs(numeric - grad[i]) / Math.max(1.0, Math.abs(numeric));
            worst = Math.max(worst, err);
        }
        assertTrue(worst < 5e-3, what + ": worst relative error " + worst);
    }
}
