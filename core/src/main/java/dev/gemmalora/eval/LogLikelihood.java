package dev.gemmalora.eval;

import dev.gemmalora.model.GemmaModel;
import dev.gemmalora.model.KvCache;
import dev.gemmalora.model.TokenTree;
import dev.gemmalora.tensor.Parallel;
import dev.gemmalora.tensor.Softmax;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * lm-eval's loglikelihood request: the summed log-prob of a continuation after a context, and
 * whether greedy decoding would have produced it. The prefix shared by every context is run once;
 * each distinct context and its continuations form one prefix tree ({@link ContinuationTree}), run
 * as one batch row with tree-masked attention on a copy of the prefix's KV cache, several contexts
 * per batch; the vocabulary projection runs once per tree node.
 */
public final class LogLikelihood {
    public record Request(int[] context, int[] continuation) {
    }

    public record Result(double logLik, boolean greedy) {
    }

    /**
     * Logit rows held at once (1 MB each at gemma's vocabulary); each chunk reads the whole head
     * and widens it, so larger chunks spread that over more rows: the head's GEMM ran 149 against
     * 134 GFLOP/s at 256 rows than at 128 (paired medians).
     */
    public static final int LOGIT_ROWS_PER_CHUNK = 256;
    /** Batch rows x longest row per forward, bounding the activations a batch holds. */
    private static final int MAX_BATCH_SLOTS = 2048;
    private final GemmaModel model;
    private final int maxRows;
    /**
     * The logits of the last chunk, kept for the next batch: up to 262 MB, which as a new array
     * per batch was a humongous allocation for G1 each time (hundreds per TruthfulQA run).
     */
    private float[] logitChunk;
    private long positions;
    private PrefixCache prefix;
    /**
     * The last batch's copy of the prefix cache, overwritten by the next batch that fits in it: a
     * new copy per batch (a few hundred MB at gemma-2-2b for four TruthfulQA questions) was live
     * through the young collections that met it, which copied and promoted it.
     */
    private KvCache fanned;

    /** maxRows: contexts (each with all its continuations) run in one forward. */
    public LogLikelihood(GemmaModel model, int maxRows) {
        this.model = model;
        this.maxRows = maxRows;
    }

    /** Token positions run through the transformer so far. */
    public long positions() {
        return positions;
    }

    /**
     * Runs ids once and keeps their KV cache; later contexts that start with them reuse it (the
     * few-shot primer of TruthfulQA, say). Replaces any earlier prefix.
     */
    public void setPrefix(int[] ids) {
        prefix = PrefixCache.run(model, ids);
        positions += ids.length;
    }

    /** One group's results, in request order, and the positions its trees cost. */
    public record Scored(List<Result> results, long positions, long logitPositions) {
    }

    public List<Result> score(List<Request> requests) {
        return scoreGroups(List.of(requests)).get(0).results();
    }

    /**
     * Scores several groups of requests (the answer choices of several questions, say) in shared
     * batches; a context's continuations are merged into one tree within a group.
     */
    public List<Scored> scoreGroups(List<List<Request>> groups) {
        List<List<ContinuationTree>> treesOf = new ArrayList<>();
        double[][] ll = new double[groups.size()][];
        boolean[][] greedy = new boolean[groups.size()][];
        List<Tagged> all = new ArrayList<>();
        for (int g = 0; g < groups.size(); g++) {
            treesOf.add(trees(groups.get(g)));
            ll[g] = new double[groups.get(g).size()];
            greedy[g] = new boolean[groups.get(g).size()];
            Arrays.fill(greedy[g], true);
            for (ContinuationTree t : treesOf.get(g)) {
                all.add(new Tagged(g, t));
            }
        }
        runInBatches(all, true, ll, greedy);
        runInBatches(all, false, ll, greedy);
        List<Scored> out = new ArrayList<>();
        for (int g = 0; g < groups.size(); g++) {
            Result[] results = new Result[ll[g].length];
            for (int i = 0; i < results.length; i++) {
                results[i] = new Result(ll[g][i], greedy[g][i]);
            }
            long pos = treesOf.get(g).stream().mapToLong(ContinuationTree::size).sum();
            long logit = treesOf.get(g).stream().mapToLong(ContinuationTree::scoredNodes).sum();
            out.add(new Scored(Arrays.asList(results), pos, logit));
        }
        return out;
    }

    /** One tree per distinct context of the requests, each holding that context's continuations. */
    private List<ContinuationTree> trees(List<Request> requests) {
        Map<List<Integer>, ContinuationTree> trees = new LinkedHashMap<>();
        for (int i = 0; i < requests.size(); i++) {
            Request r = requests.get(i);
            int[] ctx = r.context();
            if (ctx.length == 0 || r.continuation().length == 0) {
                throw new IllegalArgumentException("request " + i + " needs a non-empty context and continuation");
            }
            ContinuationTree tree = trees.computeIfAbsent(Arrays.stream(ctx).boxed().toList(), k -> {
                int shared = prefix == null ? 0 : prefix.sharedWith(ctx);
                return new ContinuationTree(Arrays.copyOfRange(ctx, shared, ctx.length), shared > 0);
            });
            tree.addContinuation(i, r.continuation());
        }
        return new ArrayList<>(trees.values());
    }

    /** Runs the trees that do (or do not) follow the cached prefix, maxRows per batch within the slot bound. */
    private void runInBatches(List<Tagged> all, boolean cached, double[][] ll, boolean[][] greedy) {
        List<Tagged> batch = new ArrayList<>();
        int longest = 0;
        for (Tagged t : all) {
            if (t.tree().afterPrefix() != cached) {
                continue;
            }
            int len = Math.max(longest, t.tree().size());
            if (!batch.isEmpty() && (batch.size() == maxRows || (batch.size() + 1) * len > MAX_BATCH_SLOTS)) {
                run(batch, longest, cached, ll, greedy);
                batch.clear();
                len = t.tree().size();
            }
            batch.add(t);
            longest = len;
        }
        if (!batch.isEmpty()) {
            run(batch, longest, cached, ll, greedy);
        }
    }

    /** A tree and the group its requests belong to. */
    private record Tagged(int group, ContinuationTree tree) {
    }

    /** Runs the trees as one batch, one per row, and adds each node's log-probs to its requests. */
    private void run(List<Tagged> trees, int len, boolean cached, double[][] ll, boolean[][] greedy) {
        int nb = trees.size();
        int[][] ids = new int[nb][len];
        int[][] parent = new int[nb][len];
        List<int[]> nodes = new ArrayList<>();
        for (int b = 0; b < nb; b++) {
            ContinuationTree tree = trees.get(b).tree();
            tree.fill(ids[b], parent[b]);
            for (int i = 0; i < tree.size(); i++) {
                if (!tree.targets(i).isEmpty()) {
                    nodes.add(new int[] {b, i});
                }
            }
            positions += tree.size();
        }
        KvCache cache = cached ? (fanned = prefix.fanOut(nb, len, fanned)) : KvCache.forModel(model.config(), nb, len);
        float[] hidden = model.forwardTree(ids, new TokenTree(parent), cache);
        int vocab = model.config().vocabSize();
        for (int s = 0; s < nodes.size(); s += LOGIT_ROWS_PER_CHUNK) {
            List<int[]> part = nodes.subList(s, Math.min(nodes.size(), s + LOGIT_ROWS_PER_CHUNK));
            float[] logits = model.logits(hidden, part.stream().mapToInt(n -> n[0] * len + n[1]).toArray(), logitChunk);
            logitChunk = logits;
            double[] lse = new double[part.size()];
            int[] top = new int[part.size()];
            Parallel.forRange(part.size(), i -> {
                float max = Softmax.max(logits, i * vocab, vocab);
                lse[i] = Softmax.logSumExp(logits, i * vocab, vocab, max);
                top[i] = Softmax.indexOf(logits, i * vocab, vocab, max);
            });
            for (int i = 0; i < part.size(); i++) {
                Tagged row = trees.get(part.get(i)[0]);
                for (ContinuationTree.Target t : row.tree().targets(part.get(i)[1])) {
                    ll[row.group()][t.request()] += logits[i * vocab + t.target()] - lse[i];
                    greedy[row.group()][t.request()] &= top[i] == t.target();
                }
            }
        }
    }
}
