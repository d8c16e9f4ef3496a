package dev.gemmalora.model;

/**
 * The arrays a decoder layer's backward writes its gradients to, shared by the layers of a
 * training step and kept from one step to the next. Allocated per layer they were about 110 MB a
 * layer at 512 tokens (three of them the width of the MLP), some 3 GB a step, whose young
 * collections paused both threads; reused, they stay in the old generation.
 */
final class GradientBuffers {
    private final float[][] hidden = new float[3][];
    private final float[][] inter = new float[3][];
    private float[] query;
    private final float[][] outputs = new float[2][];

    /** Scratch i (0..2) of len floats, the model's width: its contents are to be overwritten. */
    float[] hidden(int i, int len) {
        return hidden[i] = LayerTape.reuse(hidden[i], len);
    }

    /** Scratch i (0..2) of len floats, the MLP's width. */
    float[] inter(int i, int len) {
        return inter[i] = LayerTape.reuse(inter[i], len);
    }

    /** Scratch of len floats, the attention output's width. */
    float[] query(int len) {
        return query = LayerTape.reuse(query, len);
    }

    /**
     * Where a layer puts its input gradient: of two arrays, the one that is not dOut (the gradient
     * the layer above left in the other), so the layer can read dOut while it writes.
     */
    float[] output(float[] dOut, int len) {
        int i = outputs[0] == dOut ? 1 : 0;
        return outputs[i] = LayerTape.reuse(outputs[i], len);
    }
}
