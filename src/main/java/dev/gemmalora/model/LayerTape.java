package dev.gemmalora.model;

/** What one decoder layer's training forward keeps for its backward pass. */
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
    /** Adapter state of q, k, v, o, gate, up, down, in that order. */
    final Adapter.Saved[] saved = new Adapter.Saved[7];
}
