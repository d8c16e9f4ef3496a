package dev.gemmalora.lora;

import dev.gemmalora.model.FiniteDifference;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** LoRA backward (dA, dB, dx, with and without dropout) against finite differences. */
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
        FiniteDifference.check(v -> {
            float[] y = new float[tokens * out];
            p.addForwardTrain(v, tokens, y, seed);
            return y;
        }, x, dy, dx, "lora dx");
        float[] ga = p.gradA().clone();
        float[] a0 = p.a.clone();
        FiniteDifference.check(v -> {
            float[] y = new float[tokens * out];
            System.arraycopy(v, 0, p.a, 0, v.length);
            p.addForwardTrain(x, tokens, y, seed);
            return y;
        }, a0.clone(), dy, ga, "lora dA");
        System.arraycopy(a0, 0, p.a, 0, a0.length);
        float[] gb = p.gradB().clone();
        FiniteDifference.check(v -> {
            float[] y = new float[tokens * out];
            System.arraycopy(v, 0, p.b, 0, v.length);
            p.addForwardTrain(x, tokens, y, seed);
            return y;
        }, p.b.clone(), dy, gb, "lora dB");
    }
}
