package dev.gemmalora.model;

import dev.gemmalora.tensor.Gemm;
import dev.gemmalora.tensor.Parallel;
import dev.gemmalora.tensor.Softmax;

/**
 * One training forward and backward over a right-padded batch: the causal-LM loss and the
 * gradients of every adapter (base weights are frozen, so only activations get gradients). With
 * gradient checkpointing each layer keeps its input and the few arrays in {@link LayerTape.Kept},
 * and the rest of its tape is recomputed in backward.
 */
public final class Backprop {
    /**
     * Logit rows held at once (1 MB each at gemma's vocabulary). Each chunk widens the whole
     * vocabulary projection twice (logits, then their input gradient), so chunks are large.
     */
    private static final int LOGIT_ROWS = 256;

    private final GemmaModel m;
    /** One tape per layer (full tapes) or one shared by every layer (checkpointing), kept between steps. */
    private LayerTape[] tapes = new LayerTape[0];
    /** Each layer's output, kept between steps: the next layer's input, in its forward and (checkpointing) its replay. */
    private final float[][] outputs;
    /** Under checkpointing, what each layer keeps of its tape through the step. */
    private final LayerTape.Kept[] kept;
    private final GradientBuffers gradients = new GradientBuffers();
    /**
     * The step's keys and values, kept for the next step of the same batch size (positions start
     * at 0 every step; the cache grows to the longest batch): a new one each step was, after the
     * tapes, the largest array a step allocated.
     */
    private KvCache cache;

    /** A training pass over m that reuses its activation arrays from one batch to the next. */
    public Backprop(GemmaModel m) {
        this.m = m;
        this.outputs = new float[m.layers().length][];
        this.kept = new LayerTape.Kept[m.layers().length];
        for (int l = 0; l < kept.length; l++) {
            kept[l] = new LayerTape.Kept();
        }
    }

    /** Summed token loss of a batch and the number of tokens it covers. */
    public record Loss(double sum, int tokens) {
        public double mean() {
            return sum / tokens;
        }
    }

    /**
     * Runs the batch and adds d(gradScale * summed loss)/d(adapter params) into each adapter's
     * gradients. seed fixes dropout for this batch.
     */
    public Loss lossAndGrad(int[][] ids, int[][] mask, int[][] labels, double gradScale, boolean checkpoint, long seed) {
        GemmaConfig c = m.config();
        int batch = ids.length;
        int tokens = ids[0].length;
        if (cache == null || cache.batch() != batch) {
            cache = KvCache.forModel(c, batch, tokens);
        }
        cache.reserve(tokens, mask);
        DecoderLayer[] layers = m.layers();
        int tapeCount = checkpoint ? 1 : layers.length;
        if (tapes.length != tapeCount) {
            tapes = new LayerTape[tapeCount];
            for (int i = 0; i < tapeCount; i++) {
                tapes[i] = new LayerTape();
            }
        }
        int[] rows = computedRows(mask, labels);
        int n = rows == null ? batch * tokens : rows.length;
        float[] embedded = Ops.gatherRows(m.embed(ids), rows, c.hidden());
        float[] x = embedded;
        for (int l = 0; l < layers.length; l++) {
            LayerTape tape = tapes[checkpoint ? 0 : l];
            if (checkpoint) {
                tape.load(kept[l]);
            }
            x = layers[l].forward(m, x, batch, tokens, cache, rows, tape, layerSeed(seed, l), outputs[l]);
            outputs[l] = x;
            if (checkpoint) {
                tape.keep(kept[l]);
            }
        }
        float[] hidden = Ops.rmsNorm(x, n, c.hidden(), m.finalNorm(), c.rmsEps());
        float[] dHidden = new float[n * c.hidden()];
        Loss loss = headLossAndGrad(m, hidden, labels, rows, (float) gradScale, dHidden);
        float[] dx = Ops.rmsNormBackward(x, n, c.hidden(), m.finalNorm(), c.rmsEps(), dHidden);
        for (int l = layers.length - 1; l >= 0; l--) {
            LayerTape tape = tapes[checkpoint ? 0 : l];
            if (checkpoint) {
                tape.load(kept[l]);
                layers[l].replay(m, l == 0 ? embedded : outputs[l - 1], batch, tokens, cache, rows, tape, layerSeed(seed, l));
            }
            dx = layers[l].backward(m, tape, dx, batch, tokens, cache, rows, gradients);
        }
        return loss;
    }

    /**
     * The rows of B*T the layers compute: every real token, and every row whose next label counts
     * (in case a label follows a masked position); null when that is every row. Other rows are
     * right padding, which no real token attends to and no loss reads, so skipping them leaves
     * the loss and gradients as they are while a batch padded to its longest example does about
     * a quarter less arithmetic (instruction sets with batch 4).
     */
    static int[] computedRows(int[][] mask, int[][] labels) {
        if (mask == null) {
            return null;
        }
        int tokens = mask[0].length;
        int[] rows = new int[mask.length * tokens];
        int n = 0;
        for (int b = 0; b < mask.length; b++) {
            for (int t = 0; t < tokens; t++) {
                if (mask[b][t] != 0 || (t + 1 < tokens && labels[b][t + 1] != CrossEntropy.IGNORE)) {
                    rows[n++] = b * tokens + t;
                }
            }
        }
        return n == rows.length ? null : java.util.Arrays.copyOf(rows, n);
    }

    private static long layerSeed(long seed, int layer) {
        return seed * 0x9E3779B97F4A7C15L + layer * 16L;
    }

    /**
     * Cross-entropy over the target rows, a chunk of rows at a time, and its gradient into dHidden;
     * hidden and dHidden hold the rows of B*T that computed lists (all when null).
     */
    static Loss headLossAndGrad(GemmaModel m, float[] hidden, int[][] labels, int[] computed, float scale, float[] dHidden) {
        int[][] tg = CrossEntropy.targets(labels);
        if (computed != null) {
            int[] packed = new int[labels.length * labels[0].length];
            for (int i = 0; i < computed.length; i++) {
                packed[computed[i]] = i;
            }
            for (int i = 0; i < tg[0].length; i++) {
                tg[0][i] = packed[tg[0][i]];
            }
        }
        int vocab = m.config().vocabSize();
        int hid = m.config().hidden();
        float cap = (float) m.config().finalSoftcap();
        double sum = 0;
        float[] chunk = null;
        for (int s = 0; s < tg[0].length; s += LOGIT_ROWS) {
            int e = Math.min(tg[0].length, s + LOGIT_ROWS);
            int[] rows = java.util.Arrays.copyOfRange(tg[0], s, e);
            float[] logits = m.logits(hidden, rows, chunk);
            chunk = logits;
            double[] rowLoss = new double[rows.length];
            int first = s;
            Parallel.forRange(rows.length, i -> {
                int off = i * vocab;
                int target = tg[1][first + i];
                double lse = Softmax.logSumExp(logits, off, vocab);
                float lt = logits[off + target];
                rowLoss[i] = lse - lt;
                Softmax.crossEntropyGrad(logits, off, vocab, lse, scale, cap);
                float t = cap == 0 ? 0f : lt / cap;
                logits[off + target] -= scale * (1 - t * t);
            });
            for (double l : rowLoss) {
                sum += l;
            }
            float[] dh = new float[rows.length * hid];
            Gemm.matmulAdd(logits, rows.length, m.lmHead(), dh);
            for (int i = 0; i < rows.length; i++) {
                for (int j = 0; j < hid; j++) {
                    dHidden[rows[i] * hid + j] += dh[i * hid + j];
                }
            }
        }
        return new Loss(sum, tg[0].length);
    }
}
