package dev.gemmalora.eval;

import dev.gemmalora.tensor.Softmax;
import java.util.Arrays;
import java.util.Random;

/**
 * Picks the next token as transformers' sampling does: temperature, then top-k, then top-p
 * (nucleus) over the remaining probabilities; temperature 0 means greedy.
 */
public final class Sampler implements Generator.Picker {
    private final double temperature;
    private final int topK;
    private final double topP;
    private final Random random;

    public Sampler(double temperature, int topK, double topP, long seed) {
        this.temperature = temperature;
        this.topK = topK;
        this.topP = topP;
        this.random = new Random(seed);
    }

    @Override
    public int pick(float[] logits) {
        if (temperature <= 0) {
            return Softmax.argmax(logits, 0, logits.length);
        }
        int n = logits.length;
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        int keep = topK > 0 ? Math.min(topK, n) : n;
        Arrays.sort(order, (a, b) -> Float.compare(logits[b], logits[a]));
        double max = logits[order[0]] / temperature;
        double[] p = new double[keep];
        double sum = 0;
        for (int i = 0; i < keep; i++) {
            p[i] = Math.exp(logits[order[i]] / temperature - max);
            sum += p[i];
        }
        int cut = keep;
        if (topP > 0 && topP < 1) {
            double acc = 0;
            for (int i = 0; i < keep; i++) {
                acc += p[i] / sum;
                if (acc >= topP) {
                    cut = i + 1;
                    break;
                }
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
}
