package dev.gemmalora.model;

/**
 * Something added to a frozen linear layer's output (a LoRA pair). The model calls it without
 * knowing what it is; the lora package implements it.
 */
public interface Adapter {
    /** What a training forward keeps for the backward pass. */
    interface Saved {
    }

    /** y[T, out] += delta(x[T, in]). */
    void addForward(float[] x, int tokens, float[] y);

    /**
     * The training forward: adds delta(x) to y and returns what backward needs. seed fixes any
     * randomness (dropout), so a recomputation under gradient checkpointing sees the same mask.
     */
    Saved addForwardTrain(float[] x, int tokens, float[] y, long seed);

    /** Accumulates the adapter's own parameter gradients and adds its input gradient into dx. */
    void backward(Saved saved, float[] dy, int tokens, float[] dx);
}
