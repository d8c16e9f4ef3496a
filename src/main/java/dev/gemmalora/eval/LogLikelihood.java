package dev.gemmalora.eval;

import dev.gemmalora.model.Gemma2Model;
import dev.gemmalora.model.KvCache;
import dev.gemmalora.tensor.Parallel;
import dev.gemmalora.tensor.Softmax;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * lm-eval's loglikelihood request: the summed log-prob of a continuation after a context, and
 * whether greedy decoding would have produced it. The prefix shared by every context is run once,
 * each distinct context once, and its continuations as one right-padded batch on a copy of the
 * context's KV cache; the vocabulary projection runs only where a log-prob is needed.
 */
public final class LogLikelihood {
    public record Request(int[] context, int[] continuation) {
    }

    public record Result(double logLik, boolean greedy) {
    }

    /** Logit rows held at once (1 MB each at gemma's vocabulary); each chunk reads the whole head. */
    private static final int LOGIT_ROWS_PER_CHUNK = 128;
    private final Gemma2Model model;
    private final int maxBatch;
    private long positions;
    private long logitPositions;
    private KvCache prefixCache;
    private int[] prefix = new int[0];

    public LogLikelihood(Gemma2Model model, int maxBatch) {
        this.model = model;
        this.maxBatch = maxBatch;
    }

    /** Token positions run through the transformer so far. */
    public long positions() {
        return positions;
    }

    /** Positions whose vocabulary projection was computed so far. */
    public long logitPositions() {
        return logitPositions;
    }

    /**
     * Runs ids once and keeps their KV cache; later contexts that start with them reuse it (the
     * few-shot primer of TruthfulQA, say). Replaces any earlier prefix.
     */
    public void setPrefix(int[] ids) {
        prefix = ids.clone();
        prefixCache = KvCache.forModel(model.config(), 1, ids.length);
        if (ids.length > 0) {
            model.forward(new int[][] {ids}, null, prefixCache, null);
            positions += ids.length;
        }
    }

    public List<Result> score(List<Request> requests) {
        Map<List<Integer>, List<Integer>> byContext = new LinkedHashMap<>();
        for (int i = 0; i < requests.size(); i++) {
            int[] ctx = requests.get(i).context();
            if (ctx.length == 0 || requests.get(i).continuation().length == 0) {
                throw new IllegalArgumentException("request " + i + " needs a non-empty context and continuation");
            }
            byContext.computeIfAbsent(Arrays.stream(ctx).boxed().toList(), k -> new ArrayList<>()).add(i);
        }
        Result[] out = new Result[requests.size()];
        for (List<Integer> group : byContext.values()) {
            scoreGroup(requests, group, out);
        }
        return Arrays.asList(out);
    }

    private void scoreGroup(List<Request> requests, List<Integer> group, Result[] out) {
        int[] ctx = requests.get(group.get(0)).context();
        int reuse = sharedPrefix(ctx);
        KvCache cache = reuse > 0 ? prefixCache.fanOut(0, 1, ctx.length - reuse) : KvCache.forModel(model.config(), 1, ctx.length);
        int[] own = Arrays.copyOfRange(ctx, reuse, ctx.length);
        float[] hidden = model.forward(new int[][] {own}, null, cache, null);
        positions += own.length;
        float[] lastLogits = model.logits(hidden, new int[] {own.length - 1});
        logitPositions++;
        double lastLse = Softmax.logSumExp(lastLogits, 0, lastLogits.length);
        int lastArgmax = Softmax.argmax(lastLogits, 0, lastLogits.length);
        for (int start = 0; start < group.size(); start += maxBatch) {
            List<Integer> chunk = group.subList(start, Math.min(group.size(), start + maxBatch));
            double[] ll = new double[chunk.size()];
            boolean[] greedy = new boolean[chunk.size()];
            for (int b = 0; b < chunk.size(); b++) {
                int first = requests.get(chunk.get(b)).continuation()[0];
                ll[b] = lastLogits[first] - lastLse;
                greedy[b] = lastArgmax == first;
            }
            continueChunk(requests, chunk, cache, ll, greedy);
            for (int b = 0; b < chunk.size(); b++) {
                out[chunk.get(b)] = new Result(ll[b], greedy[b]);
            }
        }
    }

    private int sharedPrefix(int[] ctx) {
        if (prefixCache == null || prefix.length >= ctx.length) {
            return 0;
        }
        for (int i = 0; i < prefix.length; i++) {
            if (prefix[i] != ctx[i]) {
                return 0;
            }
        }
        return prefix.length;
    }

    /** Scores continuation tokens 1.. of each request in the chunk as one padded batch. */
    private void continueChunk(List<Request> requests, List<Integer> chunk, KvCache ctxCache, double[] ll, boolean[] greedy) {
        int len = 0;
        for (int i : chunk) {
            len = Math.max(len, requests.get(i).continuation().length - 1);
        }
        if (len == 0) {
            return;
        }
        int nb = chunk.size();
        int[][] ids = new int[nb][len];
        int[][] mask = new int[nb][len];
        List<int[]> need = new ArrayList<>();
        for (int b = 0; b < nb; b++) {
            int[] cont = requests.get(chunk.get(b)).continuation();
            for (int i = 0; i + 1 < cont.length; i++) {
                ids[b][i] = cont[i];
                mask[b][i] = 1;
                need.add(new int[] {b * len + i, b, cont[i + 1]});
            }
        }
        KvCache cache = ctxCache.fanOut(0, nb, len);
        float[] hidden = model.forwardSkippingPadding(ids, mask, cache);
        positions += need.size();
        logitPositions += need.size();
        int vocab = model.config().vocabSize();
        for (int s = 0; s < need.size(); s += LOGIT_ROWS_PER_CHUNK) {
            List<int[]> part = need.subList(s, Math.min(need.size(), s + LOGIT_ROWS_PER_CHUNK));
            int[] rows = part.stream().mapToInt(r -> r[0]).toArray();
            float[] logits = model.logits(hidden, rows);
            double[] lp = new double[part.size()];
            boolean[] top = new boolean[part.size()];
            Parallel.forRange(part.size(), i -> {
                int target = part.get(i)[2];
                float max = Softmax.max(logits, i * vocab, vocab);
                lp[i] = logits[i * vocab + target] - Softmax.logSumExp(logits, i * vocab, vocab, max);
                top[i] = Softmax.indexOf(logits, i * vocab, vocab, max) == target;
            });
            for (int i = 0; i < part.size(); i++) {
                int b = part.get(i)[1];
                ll[b] += lp[i];
                greedy[b] &= top[i];
            }
        }
    }
}
