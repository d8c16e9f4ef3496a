package dev.gemmalora.model;

/**
 * What one decoder layer's training forward keeps for its backward pass. A tape is used again
 * for later steps and its arrays are overwritten in place: allocated once, they stay in the old
 * generation, where fresh ones per step were copied by young collections (ParallelGC spent 2-4 s
 * a pause promoting a 26-layer tape, ~10% of a step). Inference hands one tape to every layer of
 * a forward, only as arrays to write the layer's intermediates to.
 */
final class LayerTape {
    float[] x;
    float[] h;
    float[] q;
    /** Queries and keys before their per-head norm (Gemma 3 only; else null). */
    float[] qRaw;
    float[] kRaw;
    /** Keys and values before the cache copies them: only reused, never read back. */
    float[] k;
    float[] v;
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

    /**
     * Under gradient checkpointing, the part of a layer's tape kept through the step: the queries
     * after RoPE, the o and down outputs and the adapters' saved state. With the keys and values
     * in the cache, the replay then runs only gate and up of the seven projections (about 15% of
     * a step's arithmetic less) for 13.6 MB a layer at gemma-2-2b's shape and 512 tokens.
     */
    static final class Kept {
        float[] q;
        float[] qRaw;
        float[] kRaw;
        float[] oOut;
        float[] downOut;
        final Adapter.Saved[] saved = new Adapter.Saved[7];
    }

    /** Takes the kept part of a layer's tape (its arrays are written in place by the forward). */
    void load(Kept k) {
        q = k.q;
        qRaw = k.qRaw;
        kRaw = k.kRaw;
        oOut = k.oOut;
        downOut = k.downOut;
        System.arraycopy(k.saved, 0, saved, 0, saved.length);
    }

    /** Hands the kept part back after the layer's forward. */
    void keep(Kept k) {
        k.q = q;
        k.qRaw = qRaw;
        k.kRaw = kRaw;
        k.oOut = oOut;
        k.downOut = downOut;
        System.arraycopy(saved, 0, k.saved, 0, saved.length);
    }

    /**
     * old when it holds at least n floats (the first n are to be overwritten), else a new array.
     * Real batches differ in length from step to step, and arrays of the exact size were allocated
     * again at nearly every step, promoted, and collected from the old generation; so every op
     * takes its sizes from its caller, never from an array's length.
     */
    static float[] reuse(float[] old, int n) {
        return old != null && old.length >= n ? old : new float[n];
    }

    /**
     * Attention weights [B][heads][T][kvLen], zeroed: attention writes only the visible slots. Like
     * {@link #reuse}, kept while every dimension is large enough (only the part in use is zeroed),
     * else grown to the larger of the old and new sizes.
     */
    float[][][][] probs(int batch, int heads, int tokens, int kvLen) {
        if (probs == null || probs.length < batch || probs[0].length != heads || probs[0][0].length < tokens
                || probs[0][0][0].length < kvLen) {
            int[] old = probs == null ? new int[3] : new int[] {probs.length, probs[0][0].length, probs[0][0][0].length};
            probs = new float[Math.max(batch, old[0])][heads][Math.max(tokens, old[1])][Math.max(kvLen, old[2])];
            return probs;
        }
        for (int b = 0; b < batch; b++) {
            for (float[][] h : probs[b]) {
                for (int t = 0; t < tokens; t++) {
                    java.util.Arrays.fill(h[t], 0, kvLen, 0f);
                }
            }
        }
        return probs;
    }
}
