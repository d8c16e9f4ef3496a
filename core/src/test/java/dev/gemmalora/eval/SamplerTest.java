package dev.gemmalora.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The sampler's top-k selection against the plain rule: sort every id by logit (stable), keep k, then top-p, then draw. */
class SamplerTest {
    /** The twin: transformers' order of filters over a full stable sort, the same draw from the same Random. */
    static int reference(float[] logits, double temperature, int topK, double topP, Random random) {
        int n = logits.length;
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> Float.compare(logits[b], logits[a]));
        int keep = topK > 0 ? Math.min(topK, n) : n;
        double max = logits[order[0]] / temperature;
        double[] p = new double[keep];
        double sum = 0;
        for (int i = 0; i < keep; i++) {
            p[i] = Math.exp(logits[order[i]] / temperature - max);
            sum += p[i];
        }
        int cut = keep;
        double acc = 0;
        for (int i = 0; i < keep && topP < 1; i++) {
            acc += p[i] / sum;
            if (acc >= topP) {
                cut = i + 1;
                break;
            }
        }
        double total = 0;
        for (int i = 0; i < cut; i++) {
            total += p[i];
        }
        double u = random.nextDouble() * total;
        for (int i = 0; i < cut; i++) {
            u -= p[i];
            if (u <= 0) {
                return order[i];
            }
        }
        return order[cut - 1];
    }

    @Test
    void topKPicksWhatTheFullSortPicks() {
        Random data = new Random(3);
        for (int trial = 0; trial < 200; trial++) {
            int n = 1 + data.nextInt(3000);
            float[] logits = new float[n];
            for (int i = 0; i < n; i++) {
                // Few distinct values, so ties are common and their order matters.
                logits[i] = data.nextInt(40) / 4f;
            }
            int topK = 1 + data.nextInt(60);
            double topP = data.nextBoolean() ? 1 : 0.5 + data.nextDouble() / 2;
            double temperature = 0.3 + data.nextDouble();
            long seed = data.nextLong();
            Sampler sampler = new Sampler(temperature, topK, topP, seed);
            Random twin = new Random(seed);
            for (int draw = 0; draw < 5; draw++) {
                assertEquals(reference(logits, temperature, topK, topP, twin), sampler.pick(logits), "trial " + trial + " draw " + draw);
            }
        }
    }
}
