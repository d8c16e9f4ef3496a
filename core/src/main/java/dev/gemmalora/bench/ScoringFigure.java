package dev.gemmalora.bench;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gemmalora.eval.LogLikelihood;
import dev.gemmalora.eval.TruthfulQaData;
import dev.gemmalora.eval.TruthfulQaEval;
import dev.gemmalora.model.GemmaConfig;
import dev.gemmalora.model.GemmaModel;
import dev.gemmalora.model.KvCache;
import dev.gemmalora.tensor.Parallel;
import dev.gemmalora.tensor.Softmax;
import dev.gemmalora.tokenizer.HfTokenizer;
import java.util.List;
import java.util.Set;

/**
 * The "score" figure (log-probabilities at every position of random batches) and the optional
 * "truthfulqa_mc" one (MC1+MC2 on the first questions of TruthfulQA, extrapolated to the file).
 */
final class ScoringFigure {
    private ScoringFigure() {
    }

    static void measure(Figures figures, GemmaModel model) {
        Benchmark.Settings s = figures.settings;
        GemmaConfig c = model.config();
        int[][] ids = RandomModel.randomIds(s.scoreBatch(), s.seq(), c.vocabSize(), 9);
        int vocab = c.vocabSize();
        int n = s.scoreBatch() * s.seq();
        double sec = figures.median(() -> Figures.seconds(() -> {
            float[] hidden = model.forward(ids, null, KvCache.forModel(c, ids.length, s.seq()), null);
            float[] chunk = null;
            for (int r0 = 0; r0 < n; r0 += LogLikelihood.LOGIT_ROWS_PER_CHUNK) {
                int[] rows = new int[Math.min(LogLikelihood.LOGIT_ROWS_PER_CHUNK, n - r0)];
                for (int i = 0; i < rows.length; i++) {
                    rows[i] = r0 + i;
                }
                float[] logits = model.logits(hidden, rows, chunk);
                chunk = logits;
                Parallel.forRange(rows.length, i -> Softmax.logSumExp(logits, i * vocab, vocab));
            }
        }));
        double flops = n * Figures.forwardFlops(c, s.seq(), true);
        ObjectNode f = figures.figure("score", n / sec, "tokens_per_s", flops, sec);
        f.put("batch", s.scoreBatch());
        f.put("seq", s.seq());
        figures.log.accept(String.format("score (%d x %d, log-probs at every position): %.2f tokens/s, %.1f GFLOP/s (%.2f MFU)",
                s.scoreBatch(), s.seq(), n / sec, f.get("gflops").asDouble(), f.get("mfu").asDouble()));
    }

    static void truthfulQa(Figures figures, GemmaModel model) {
        Benchmark.Settings s = figures.settings;
        TruthfulQaData.Dataset ds = TruthfulQaData.load(s.truthfulQa());
        List<TruthfulQaData.Question> qs = ds.questions().subList(0, Math.min(s.questions(), ds.questions().size()));
        try (HfTokenizer tok = HfTokenizer.load(s.tokenizer())) {
            long t0 = System.nanoTime();
            TruthfulQaEval eval = new TruthfulQaEval(model, tok, Set.of("mc1", "mc2"), false, TruthfulQaEval.DEFAULT_BATCH);
            double primerSeconds = (System.nanoTime() - t0) / 1e9;
            long primer = eval.positions();
            long t1 = System.nanoTime();
            long[] lmEval = {0};
            eval.evaluateAll(qs, row -> lmEval[0] += row.get("lm_eval_positions").asLong());
            double sec = (System.nanoTime() - t1) / 1e9;
            long positions = eval.positions() - primer;
            ObjectNode f = figures.out.putObject("truthfulqa_mc");
            f.put("questions", qs.size());
            f.put("seconds", sec + primerSeconds);
            f.put("positions", positions + primer);
            f.put("lm_eval_positions", lmEval[0]);
            f.put("tokens_per_s", positions / sec);
            double scale = ds.questions().size() / (double) qs.size();
            f.put("extrapolated_questions", ds.questions().size());
            f.put("extrapolated_seconds", primerSeconds + sec * scale);
            f.put("extrapolated_positions", primer + positions * scale);
            f.put("extrapolated_lm_eval_positions", lmEval[0] * scale);
            figures.log.accept(String.format("truthfulqa mc1+mc2, %d questions: %.0f s, %d positions (lm-eval: %d), %.1f tokens/s;"
                            + " all %d: about %.0f min", qs.size(), sec + primerSeconds, positions + primer, lmEval[0], positions / sec,
                    ds.questions().size(), (primerSeconds + sec * scale) / 60));
        }
    }
}
