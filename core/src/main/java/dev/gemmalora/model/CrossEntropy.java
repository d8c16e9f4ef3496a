package dev.gemmalora.model;

import dev.gemmalora.tensor.Softmax;

/**
 * HF's causal-LM loss: position t predicts label t+1, mean over labels != -100, with the
 * log-softmax accumulated in double.
 */
public final class CrossEntropy {
    public static final int IGNORE = -100;

    private CrossEntropy() {
    }

    /** The (row, target) pairs that count: row = b*T + t for every t whose next label is not ignored. */
    public static int[][] targets(int[][] labels) {
        int tokens = labels[0].length;
        int n = 0;
        for (int[] row : labels) {
            for (int t = 0; t + 1 < tokens; t++) {
                if (row[t + 1] != IGNORE) {
                    n++;
                }
            }
        }
        int[] rows = new int[n];
        int[] ids = new int[n];
        int i = 0;
        for (int b = 0; b < labels.length; b++) {
            for (int t = 0; t + 1 < tokens; t++) {
                if (labels[b][t + 1] != IGNORE) {
                    rows[i] = b * tokens + t;
                    ids[i++] = labels[b][t + 1];
                }
            }
        }
        return new int[][] {rows, ids};
    }

    /** log softmax(logits[row])[target], for a row of width vocab at offset off. */
    public static double logProb(float[] logits, int off, int vocab, int target) {
        return logits[off + target] - Softmax.logSumExp(logits, off, vocab);
    }

    /** Mean loss of a batch given its final hidden states. */
    public static double loss(GemmaModel model, float[] hidden, int[][] labels) {
        int[][] tg = targets(labels);
        float[] logits = model.logits(hidden, tg[0]);
        int vocab = model.config().vocabSize();
        double total = 0;
        for (int i = 0; i < tg[0].length; i++) {
            total -= logProb(logits, i * vocab, vocab, tg[1][i]);
        }
        return total / tg[0].length;
    }
}
