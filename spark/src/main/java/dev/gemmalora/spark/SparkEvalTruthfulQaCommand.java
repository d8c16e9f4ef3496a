package dev.gemmalora.spark;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gemmalora.api.Evaluation;
import dev.gemmalora.cli.EvalTruthfulQaCommand;
import dev.gemmalora.cli.Progress;
import dev.gemmalora.eval.ResultsFile;
import dev.gemmalora.eval.TruthfulQaData;
import dev.gemmalora.io.Json;
import dev.gemmalora.report.EvalReport;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import me.tongfei.progressbar.ProgressBar;
import org.apache.spark.api.java.JavaFutureAction;
import org.apache.spark.api.java.JavaSparkContext;
import picocli.CommandLine.Command;

/**
 * eval truthfulqa with the questions of every model cut into chunks, each chunk a Spark job of one
 * task, all submitted at once in model then question order (Spark's FIFO scheduler runs them in
 * that order). The driver takes the chunks back in the same order and appends their rows, so each
 * results.jsonl is written in question order as it would be by one process, and a rerun resumes
 * after the last row written.
 */
@Command(name = "truthfulqa", mixinStandardHelpOptions = true, showDefaultValues = true, sortOptions = false,
        description = {"Score the base model and each adapter on TruthfulQA as 'gemma-lora eval truthfulqa' does, the questions spread over the Spark executors.",
                "Same options and files; --output is on the driver, --model, --tokenizer and each --adapter at the same path on every node."})
final class SparkEvalTruthfulQaCommand extends EvalTruthfulQaCommand {
    /** Batches per chunk: small enough to spread 817 questions over many executors and to lose little on a kill. */
    private static final int BATCHES_PER_CHUNK = 2;

    private record Chunk(int questions, JavaFutureAction<List<EvalChunk>> result) {
    }

    @Override
    protected List<EvalReport.Scored> scoreAll(Evaluation evaluation, Map<String, String> names, List<TruthfulQaData.Question> questions,
                                               Set<String> taskSet) throws IOException {
        EvalSpec spec = new EvalSpec(options.model.toAbsolutePath().normalize().toString(),
                options.tokenizerDir().toAbsolutePath().normalize().toString(), List.copyOf(taskSet), options.chatTemplate, options.batch);
        List<List<ObjectNode>> done = new ArrayList<>();
        List<List<TruthfulQaData.Question>> todo = new ArrayList<>();
        for (String name : names.keySet()) {
            List<ObjectNode> rows = new ArrayList<>();
            todo.add(evaluation.todo(name, questions, rows));
            done.add(rows);
        }
        JavaSparkContext sc = SparkJob.start("gemma-lora eval truthfulqa", 0);
        try {
            List<List<Chunk>> chunks = new ArrayList<>();
            int m = 0;
            for (String adapter : names.values()) {
                chunks.add(submit(sc, spec, adapter, todo.get(m++)));
            }
            return collect(evaluation, names, questions.size(), done, chunks);
        } finally {
            SparkJob.stop(sc);
        }
    }

    private List<Chunk> submit(JavaSparkContext sc, EvalSpec spec, String adapter, List<TruthfulQaData.Question> todo) {
        List<Chunk> out = new ArrayList<>();
        int size = BATCHES_PER_CHUNK * options.batch;
        for (int i = 0; i < todo.size(); i += size) {
            EvalTask task = new EvalTask(adapter, new ArrayList<>(todo.subList(i, Math.min(todo.size(), i + size))));
            out.add(new Chunk(task.questions().size(),
                    sc.parallelize(List.of(task), 1).map(t -> ExecutorEvaluator.evaluate(spec, t)).collectAsync()));
        }
        return out;
    }

    /** Takes each model's chunks back in order, appending their rows; then each model's summary. */
    private List<EvalReport.Scored> collect(Evaluation evaluation, Map<String, String> names, int questions, List<List<ObjectNode>> done,
                                            List<List<Chunk>> chunks) throws IOException {
        long total = (long) questions * names.size();
        long already = done.stream().mapToLong(List::size).sum();
        List<EvalReport.Scored> scored = new ArrayList<>();
        long t0 = System.nanoTime();
        long positions = 0;
        try (ProgressBar bar = Progress.start("eval", total, already, Duration.ZERO)) {
            int m = 0;
            for (var e : names.entrySet()) {
                List<ObjectNode> rows = done.get(m);
                long primer = 0;
                try (ResultsFile out = ResultsFile.append(evaluation.resultsFile(e.getKey()))) {
                    for (Chunk c : chunks.get(m)) {
                        EvalChunk result = get(c.result());
                        primer += result.primerPositions();
                        for (String text : result.rows()) {
                            ObjectNode row = (ObjectNode) Json.MAPPER.readTree(text);
                            out.write(row);
                            rows.add(row);
                            positions += row.get("positions").asLong();
                        }
                        bar.stepBy(c.questions());
                        bar.setExtraMessage(String.format("%s, %.0f tok/s", e.getKey(), positions / ((System.nanoTime() - t0) / 1e9)));
                    }
                }
                scored.add(evaluation.finish(e.getKey(), e.getValue(), rows, primer));
                m++;
            }
        }
        return scored;
    }

    private static EvalChunk get(JavaFutureAction<List<EvalChunk>> f) {
        try {
            return f.get().get(0);
        } catch (ExecutionException e) {
            throw SparkErrors.unwrap(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for the executors", e);
        }
    }
}
