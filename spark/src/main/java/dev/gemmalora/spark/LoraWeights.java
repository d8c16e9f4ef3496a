package dev.gemmalora.spark;

import java.io.Serializable;
import java.util.List;

/** The adapter's parameters at the start of an optimizer step, broadcast to the executors. */
record LoraWeights(int step, float[][] params) implements Serializable {
    /** A copy of params: the driver's arrays change under AdamW while a broadcast may still be read. */
    static LoraWeights of(int step, List<float[]> params) {
        float[][] copy = new float[params.size()][];
        for (int i = 0; i < copy.length; i++) {
            copy[i] = params.get(i).clone();
        }
        return new LoraWeights(step, copy);
    }

    long bytes() {
        long n = 0;
        for (float[] p : params) {
            n += 4L * p.length;
        }
        return n;
    }
}
