package dev.gemmalora.train;

import dev.gemmalora.lora.Gradients;

/**
 * The micro-batch gradients of one optimizer step summed in micro-batch order, whoever computed
 * them: float addition is not associative, so a fixed order is what makes the sum, and with it the
 * adapter, the same bytes on one machine and on any number of cluster workers.
 */
public final class GradientSum {
    private final float[][] grads;
    private double lossSum;
    private long tokens;
    private int next;

    /** An empty sum shaped like the given parameters. */
    public GradientSum(java.util.List<float[]> params) {
        grads = new float[params.size()][];
        for (int i = 0; i < grads.length; i++) {
            grads[i] = new float[params.get(i).length];
        }
    }

    /** Adds micro-batch g, which must be the next one in order. */
    public void add(MicroBatchGradient g) {
        if (g.index() != next) {
            throw new IllegalStateException("micro-batch " + g.index() + " added where " + next + " was expected");
        }
        if (g.grads().length != grads.length) {
            throw new IllegalStateException("micro-batch " + g.index() + " has " + g.grads().length + " gradient tensors, expected "
                    + grads.length);
        }
        for (int i = 0; i < grads.length; i++) {
            float[] s = grads[i];
            float[] x = g.grads()[i];
            for (int j = 0; j < s.length; j++) {
                s[j] += x[j];
            }
        }
        lossSum += g.lossSum();
        tokens += g.tokens();
        next++;
    }

    /** Micro-batches added so far. */
    public int count() {
        return next;
    }

    public float[][] grads() {
        return grads;
    }

    public double lossSum() {
        return lossSum;
    }

    public long tokens() {
        return tokens;
    }

    /** The L2 norm of all gradients together, in double. */
    public double norm() {
        return Gradients.norm(grads);
    }
}
