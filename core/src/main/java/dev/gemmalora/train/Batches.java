package dev.gemmalora.train;

import dev.gemmalora.data.TrainingExample;
import dev.gemmalora.model.CrossEntropy;
import java.util.Arrays;
import java.util.List;

/** Micro-batches padded to their longest sequence: pad id, mask 0, labels -100. */
public final class Batches {
    public record Batch(int[][] ids, int[][] mask, int[][] labels) implements java.io.Serializable {
        /** Tokens whose next-token label counts in the loss. */
        public int targets() {
            return CrossEntropy.targets(labels)[0].length;
        }

        /** The real tokens (mask 1), what a step's tokens/s counts: padding is not computed. */
        public int tokens() {
            int n = 0;
            for (int[] row : mask) {
                for (int m : row) {
                    n += m != 0 ? 1 : 0;
                }
            }
            return n;
        }
    }

    private Batches() {
    }

    public static Batch pad(List<TrainingExample> examples, int padId) {
        int len = examples.stream().mapToInt(e -> e.ids().length).max().orElse(0);
        int n = examples.size();
        int[][] ids = new int[n][len];
        int[][] mask = new int[n][len];
        int[][] labels = new int[n][len];
        for (int b = 0; b < n; b++) {
            TrainingExample e = examples.get(b);
            Arrays.fill(ids[b], padId);
            Arrays.fill(labels[b], CrossEntropy.IGNORE);
            System.arraycopy(e.ids(), 0, ids[b], 0, e.ids().length);
            System.arraycopy(e.mask(), 0, mask[b], 0, e.mask().length);
            System.arraycopy(e.labels(), 0, labels[b], 0, e.labels().length);
        }
        return new Batch(ids, mask, labels);
    }
}
