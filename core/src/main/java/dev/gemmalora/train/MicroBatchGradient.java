package dev.gemmalora.train;

import java.io.Serializable;

/**
 * One micro-batch's share of an optimizer step: its summed token loss, its real tokens and the
 * gradient of every LoRA parameter (in the order of LoraAdapter.parameters()), already scaled by
 * the step's 1 / label tokens. Serializable: a cluster sends it from the worker that computed it.
 */
public record MicroBatchGradient(int index, double lossSum, long tokens, float[][] grads) implements Serializable {
    /** A copy that owns its arrays (a runner's result shares the adapter's gradient buffers). */
    public MicroBatchGradient copy() {
        float[][] own = new float[grads.length][];
        for (int i = 0; i < grads.length; i++) {
            own[i] = grads[i].clone();
        }
        return new MicroBatchGradient(index, lossSum, tokens, own);
    }

    /** Bytes of gradient it carries. */
    public long gradientBytes() {
        long n = 0;
        for (float[] g : grads) {
            n += 4L * g.length;
        }
        return n;
    }
}
