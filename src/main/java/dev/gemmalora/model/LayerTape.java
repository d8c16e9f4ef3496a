package dev.gemmalora.model;

/**
 * What one decoder layer's training forward keeps for its backward pass. A tape is used again
 * for later steps and its arrays are overwritten in place: allocated once, they stay in the old
 * generation, where fresh ones per step were copied by young collections (ParallelGC spent 2-4 s
 * a pause promoting a 26-layer tape, ~10% of a step).
 */
final class LayerTape {
    float[] x;
    float[] h;
    float[] q;
    float[][][][] probs;
    float[] att;
    float[] oOut;
    float[] a;
    float[] f;
    float[] g;
    float[] u;
    float[] downOut;
    /** GeGLU's output, the down projection's input (its adapter reads it in backward). */
    float[] act;
    /** Adapter state of q, k, v, o, gate, up, down, in that order. */
    final Adapter.Saved[] saved = new Adapter.Saved[7];

    /** old when it has length n (its contents are to be overwritten), else a new array. */
    static float[] reuse(float[] old, int n) {
        return old != null && old.length == n ? old : new float[n];
    }

    /** Attention weights [B][heads][T][kvLen], zeroed: attention writes only the visible slots. */
    float[][][][] probs(int batch, int heads, int tokens, int kvLen) {
        if (probs == null || probs.length != batch || probs[0].length != heads || probs[0][0].length != tokens
                || probs[0][0][0].length != kvLen) {
            probs = new float[batch][heads][tokens][kvLen];
            return probs;
        }
        for (float[][][] b : probs) {
            for (float[][] h : b) {
                for (float[] row : h) {
                    java.util.Arrays.fill(row, 0f);
                }
            }
        }
        return probs;
    }
}
