package dev.gemmalora.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gemmalora.GoldenPaths;
import dev.gemmalora.model.GemmaModel;
import dev.gemmalora.model.KvCache;
import dev.gemmalora.tensor.Softmax;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * The scorer's shortcuts (cached prefix, continuation trees, several contexts per batch) against
 * the plain definition: one full forward of context + continuation per request, log-softmax at
 * each continuation position.
 */
class LogLikelihoodTest {
    @Test
    void treesOfSharedContinuationsScoreLikeEachRequestAlone() {
        GemmaModel model = GemmaModel.load(GoldenPaths.t1().resolve("model"));
        int vocab = model.config().vocabSize();
        Random rnd = new Random(7);
        int[] primer = rnd.ints(9, 1, vocab).toArray();
        List<LogLikelihood.Request> requests = new ArrayList<>();
        for (int c = 0; c < 5; c++) {
            int[] own = rnd.ints(2 + c, 1, vocab).toArray();
            // Context 3 does not start with the primer, so it runs without the cache.
            int[] ctx = c == 3 ? own : IntStream.concat(IntStream.of(primer), IntStream.of(own)).toArray();
            int[] stem = rnd.ints(3, 1, vocab).toArray();
            for (int k = 0; k < 4; k++) {
                int[] cont = IntStream.concat(IntStream.of(stem).limit(k), rnd.ints(1 + k + c % 2, 1, vocab)).toArray();
                requests.add(new LogLikelihood.Request(ctx, cont));
            }
            requests.add(new LogLikelihood.Request(ctx, requests.get(requests.size() - 1).continuation()));
            requests.add(new LogLikelihood.Request(ctx, new int[] {stem[0]}));
        }
        // A greedy continuation, so the flag is tested true as well as false.
        int[] ctx0 = requests.get(0).context();
        int[] greedy = new int[3];
        int[] seq = ctx0.clone();
        for (int k = 0; k < greedy.length; k++) {
            float[] logits = lastLogits(model, seq);
            greedy[k] = Softmax.argmax(logits, 0, vocab);
            seq = IntStream.concat(IntStream.of(seq), IntStream.of(greedy[k])).toArray();
        }
        requests.add(new LogLikelihood.Request(ctx0, greedy));

        LogLikelihood scorer = new LogLikelihood(model, 2);
        scorer.setPrefix(primer);
        List<LogLikelihood.Result> got = scorer.score(requests);
        int greedyCount = 0;
        for (int i = 0; i < requests.size(); i++) {
            double[] want = alone(model, requests.get(i));
            assertEquals(want[0], got.get(i).logLik(), 1e-4, "request " + i);
            assertEquals(want[1] != 0, got.get(i).greedy(), "request " + i + " greedy");
            greedyCount += got.get(i).greedy() ? 1 : 0;
        }
        assertTrue(greedyCount > 0, "some request is greedy");
        long naive = requests.stream().mapToLong(r -> r.context().length + r.continuation().length - 1).sum();
        assertTrue(scorer.positions() < naive / 2, "positions " + scorer.positions() + " vs " + naive + " one by one");
    }

    private static float[] lastLogits(GemmaModel model, int[] seq) {
        float[] hidden = model.forward(new int[][] {seq}, null, KvCache.forModel(model.config(), 1, seq.length), null);
        return model.logits(hidden, new int[] {seq.length - 1});
    }

    /** {summed log-prob, 1 if every continuation token is the argmax} from one full forward. */
    private static double[] alone(GemmaModel model, LogLikelihood.Request r) {
        int[] seq = IntStream.concat(IntStream.of(r.context()), IntStream.of(r.continuation())).toArray();
        float[] hidden = model.forward(new int[][] {seq}, null, KvCache.forModel(model.config(), 1, seq.length), null);
        int vocab = model.config().vocabSize();
        int n = r.continuation().length;
        int[] rows = IntStream.range(0, n).map(k -> r.context().length - 1 + k).toArray();
        float[] logits = model.logits(hidden, rows);
        double ll = 0;
        boolean greedy = true;
        for (int k = 0; k < n; k++) {
            int target = r.continuation()[k];
            double max = Double.NEGATIVE_INFINITY;
            for (int v = 0; v < vocab; v++) {
                max = Math.max(max, logits[k * vocab + v]);
            }
            double sum = 0;
            for (int v = 0; v < vocab; v++) {
                sum += Math.exp(logits[k * vocab + v] - max);
            }
            ll += logits[k * vocab + target] - max - Math.log(sum);
            greedy &= logits[k * vocab + target] == max && Softmax.argmax(logits, k * vocab, vocab) == target;
        }
        return new double[] {ll, greedy ? 1 : 0};
    }
}
