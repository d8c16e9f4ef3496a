package dev.gemmalora.model;

/**
 * Something added to a frozen linear layer's output (a LoRA pair). The model calls it without
 * knowing what it is; the lora package implements it.
 */
public interface Adapter {
    /** y[T, out] += delta(x[T, in]). */
    void addForward(float[] x, int tokens, float[] y);
}
