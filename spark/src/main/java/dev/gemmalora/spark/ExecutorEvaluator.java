package dev.gemmalora.spark;

import dev.gemmalora.eval.TruthfulQaEval;
import dev.gemmalora.lora.LoraAdapter;
import dev.gemmalora.model.GemmaModel;
import dev.gemmalora.tokenizer.HfTokenizer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;

/**
 * An executor's evaluator: the model's, with its primer's KV cache, kept from task to task while
 * the tasks are on the same model (the driver orders them model by model); the first task on
 * another adapter builds the next one.
 */
final class ExecutorEvaluator {
    private static HfTokenizer tokenizer;
    private static String tokenizerDir;
    private static TruthfulQaEval evaluator;
    private static GemmaModel evaluatorModel;
    private static LoraAdapter evaluatorAdapter;
    private static EvalSpec evaluatorSpec;
    private static String evaluatorAdapterDir;

    private ExecutorEvaluator() {
    }

    static EvalChunk evaluate(EvalSpec spec, EvalTask task) {
        ExecutorState.enter();
        ExecutorChecks.requireTokenizer(spec.tokenizerDir());
        if (task.adapterDir() != null) {
            ExecutorChecks.requireFolder("adapter", task.adapterDir(), LoraAdapter.CONFIG);
        }
        synchronized (ExecutorState.lock()) {
            GemmaModel m = ExecutorState.model(spec.modelDir());
            long primer = 0;
            if (evaluator == null || evaluatorModel != m || !spec.equals(evaluatorSpec)
                    || !Objects.equals(task.adapterDir(), evaluatorAdapterDir)) {
                evaluator = null;
                LoraAdapter.detach(m);
                evaluatorAdapter = task.adapterDir() == null ? null : LoraAdapter.load(Path.of(task.adapterDir()), m);
                attach(m);
                evaluator = new TruthfulQaEval(m, tokenizer(spec.tokenizerDir()), new LinkedHashSet<>(spec.tasks()), spec.chatTemplate(),
                        spec.batch());
                evaluatorModel = m;
                evaluatorSpec = spec;
                evaluatorAdapterDir = task.adapterDir();
                primer = evaluator.positions();
            }
            attach(m);
            List<String> rows = new ArrayList<>();
            evaluator.evaluateAll(task.questions(), row -> rows.add(row.toString()));
            return new EvalChunk(rows, primer);
        }
    }

    /** The evaluator's adapter on the model (or none): a training task in this JVM may have attached its own. */
    private static void attach(GemmaModel m) {
        if (evaluatorAdapter == null) {
            LoraAdapter.detach(m);
        } else {
            evaluatorAdapter.attach(m);
        }
    }

    private static HfTokenizer tokenizer(String dir) {
        if (!dir.equals(tokenizerDir)) {
            if (tokenizer != null) {
                tokenizer.close();
            }
            tokenizer = HfTokenizer.load(Path.of(dir));
            tokenizerDir = dir;
        }
        return tokenizer;
    }
}
