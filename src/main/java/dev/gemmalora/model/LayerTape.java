package dev.gemmalora.model;

/** What one decoder layer's training forward keeps for its backward pass. */
final class LayerTape {
    /**
     * Set on a tape that gradient checkpointing kept between forward and backward: oOut and
     * downOut are known, so replaying the layer skips the o and down projections (a third of the
     * layer's FLOPs) for two rows of hidden size per token.
     */
    boolean replay;
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

    /** The part of a full tape that gradient checkpointing keeps: input, o and down outputs. */
    static LayerTape kept(LayerTape full) {
        LayerTape t = new LayerTape();
        t.replay = true;
        t.x = full.x;
        t.oOut = full.oOut;
        t.downOut = full.downOut;
        return t;
    }
}
