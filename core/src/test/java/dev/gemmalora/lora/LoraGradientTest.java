package dev.gemmalora.lora;

import dev.gemmalora.model.DoubleReference;
import dev.gemmalora.model.FiniteDifference;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** LoRA backward (dA, dB, dx, with and without dropout) against double-precision finite differences of its math. */
class LoraGradientTest {
    @ParameterizedTest(name = "dropout {0}")
    @ValueSource(doubles = {0.0, 0.3})
    void pairGradientsMatchFiniteDifferences(double dropout) {
        Random rng = new Random(3);
        int tokens = 4;
        int in = 6;
        int out = 5;
        int r = 3;
        LoraPair p = new LoraPair("m", r, in, out, 2.5, FiniteDifference.random(rng, r * in), FiniteDifference.random(rng, out * r));
        p.setDropout(dropout);
        float[] x = FiniteDifference.random(rng, tokens * in);
        float[] dy = FiniteDifference.random(rng, tokens * out);
        long seed = 11;
        var saved = p.addForwardTrain(x, tokens, new float[tokens * out], seed);
        float[] dx = new float[x.length];
        p.backward(saved, dy, tokens, dx);
        boolean[] keep = dropout > 0 ? DropoutMaskTest.scalarMask(seed, x.length, dropout) : null;
        double[] xd = DoubleReference.widen(x);
        double[] ad = DoubleReference.widen(p.a);
        double[] bd = DoubleReference.widen(p.b);
        FiniteDifference.check(v -> delta(v, ad, bd, keep, dropout, tokens, in, out, r, p.scale), x, dy, dx, "lora dx");
        FiniteDifference.check(v -> delta(xd, v, bd, keep, dropout, tokens, in, out, r, p.scale), p.a, dy, p.gradA(), "lora dA");
        FiniteDifference.check(v -> delta(xd, ad, v, keep, dropout, tokens, in, out, r, p.scale), p.b, dy, p.gradB(), "lora dB");
    }

    /** The LoRA branch in double: s * B A (x * mask / (1 - p)), with the engine's dropout mask. */
    static double[] delta(double[] x, double[] a, double[] b, boolean[] keep, double p, int tokens, int in, int out, int r, double s) {
        double[] y = new double[tokens * out];
        for (int t = 0; t < tokens; t++) {
            double[] u = new double[r];
            for (int j = 0; j < r; j++) {
                for (int k = 0; k < in; k++) {
                    int i = t * in + k;
                    double xi = keep == null ? x[i] : keep[i] ? x[i] / (1 - p) : 0;
                    u[j] += a[j * in + k] * xi;
                }
            }
            for (int o = 0; o < out; o++) {
                for (int j = 0; j < r; j++) {
                    y[t * out + o] += s * b[o * r + j] * u[j];
                }
            }
        }
        return y;
    }
}
