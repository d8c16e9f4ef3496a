package dev.gemmalora.spark;

import dev.gemmalora.train.Batches;
import java.io.Serializable;

/** Micro-batch `index` of optimizer step `step`: its padded batch and the step's gradient scale. */
record TrainTask(int step, int index, Batches.Batch batch, double gradScale) implements Serializable {
    /** Bytes of token data it carries (ids, mask and labels). */
    long bytes() {
        long n = 0;
        for (int[] row : batch.ids()) {
            n += 12L * row.length;
        }
        return n;
    }
}
