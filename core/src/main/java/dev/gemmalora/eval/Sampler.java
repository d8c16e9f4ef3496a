package dev.gemmalora.eval;

import dev.gemmalora.tensor.Softmax;
import java.util.Arrays;
import java.util.Comparator;
import java.util.PriorityQueue;
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
        int keep = topK > 0 ? Math.min(topK, n) : n;
        Integer[] order = keep < n ? topK(logits, keep) : sorted(logits);
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

    /** Every token id, most likely first; equal logits in id order (a stable sort of 0..n-1). */
    private static Integer[] sorted(float[] logits) {
        Integer[] order = new Integer[logits.length];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        Arrays.sort(order, byLogitDescending(logits));
        return order;
    }

    /**
     * The first k of {@link #sorted} without sorting the vocabulary: one pass keeps the k best in a
     * heap whose root is the worst of them (256k ids sorted per token took tens of milliseconds).
     */
    private static Integer[] topK(float[] logits, int k) {
        Comparator<Integer> best = byLogitDescending(logits);
        PriorityQueue<Integer> heap = new PriorityQueue<>(k + 1, best.reversed());
        for (int i = 0; i < logits.length; i++) {
            if (heap.size() < k) {
                heap.add(i);
            } else if (best.compare(i, heap.peek()) < 0) {
                heap.poll();
                heap.add(i);
            }
        }
        Integer[] order = heap.toArray(new Integer[0]);
        Arrays.sort(order, best);
        return order;
    }

    private static Comparator<Integer> byLogitDescending(float[] logits) {
        return (a, b) -> {
            int c = Float.compare(logits[b], logits[a]);
            return c != 0 ? c : Integer.compare(a, b);
        };
    }
}
