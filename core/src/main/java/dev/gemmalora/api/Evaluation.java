package dev.gemmalora.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gemmalora.eval.ResultsFile;
import dev.gemmalora.eval.Summary;
import dev.gemmalora.eval.TruthfulQaData;
import dev.gemmalora.eval.TruthfulQaEval;
import dev.gemmalora.io.InputException;
import dev.gemmalora.io.Json;
import dev.gemmalora.io.OutputException;
import dev.gemmalora.io.OutputLock;
import dev.gemmalora.lora.LoraAdapter;
import dev.gemmalora.model.GemmaModel;
import dev.gemmalora.report.EvalReport;
import dev.gemmalora.tokenizer.HfTokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * TruthfulQA as `gemma-lora eval truthfulqa` runs it: the base model and each adapter scored as
 * lm-evaluation-harness does, each question's row appended to output/NAME/results.jsonl as it is
 * scored (a rerun resumes), then each summary.json and the report. One writer per output folder.
 */
public final class Evaluation {
    /** Scores every model's questions (names: "base" and each adapter, to its folder or null), here or on a cluster. */
    public interface Scorer {
        List<EvalReport.Scored> scoreAll(Evaluation evaluation, Map<String, String> names, List<TruthfulQaData.Question> questions,
                                         Set<String> tasks) throws IOException;
    }

    /** In this process, one model after another. */
    public static final Scorer LOCAL = Evaluation::scoreLocally;

    private final EvalOptions o;
    private final EvalListener listener;

    public Evaluation(EvalOptions options, EvalListener listener) {
        this.o = options;
        this.listener = listener;
    }

    /** Evaluates in this process, quietly. */
    public static EvalResult run(EvalOptions options) throws IOException {
        return new Evaluation(options, new EvalListener() { }).run(LOCAL);
    }

    public EvalOptions options() {
        return o;
    }

    /**
     * Checks the options and data, then scores with scorer and writes the summaries and report.
     * Throws InputException for bad options or files (naming them), OutputException when the output
     * cannot be written (every row written before stays).
     */
    public EvalResult run(Scorer scorer) throws IOException {
        if (o.batch < 1) {
            throw new InputException("--batch: " + o.batch + ", expected at least 1 question per batch");
        }
        Set<String> taskSet = new LinkedHashSet<>(o.tasks);
        for (String t : taskSet) {
            if (!TruthfulQaEval.TASKS.contains(t)) {
                throw new InputException("--tasks: unknown task '" + t + "', expected some of " + TruthfulQaEval.TASKS);
            }
        }
        TruthfulQaData.Dataset ds = TruthfulQaData.load(o.data);
        if ((taskSet.contains("mc1") || taskSet.contains("mc2")) && !ds.hasMc()) {
            throw new InputException(o.data + ": mc1/mc2 need " + TruthfulQaData.MC_JSON);
        }
        if (taskSet.contains("binary") && !ds.hasBinary()) {
            throw new InputException((ds.mcJson() != null ? ds.mcJson() : o.data) + ": has no mc0_targets; the binary task needs the 2025 "
                    + "revision of TruthfulQA, not the original 817-question files ('download truthfulqa --output DIR' puts the revision "
                    + "in DIR and the originals in DIR/v0)");
        }
        if (taskSet.contains("gen") && !ds.hasGen()) {
            throw new InputException(o.data + ": the gen task needs " + TruthfulQaData.CSV + " (its references)");
        }
        List<TruthfulQaData.Question> questions = ds.questions();
        if (o.limit > 0 && o.limit < questions.size()) {
            questions = questions.subList(0, o.limit);
        }
        Map<String, String> names = modelNames();
        ObjectNode run = Json.MAPPER.createObjectNode();
        run.put("model", o.model.toAbsolutePath().normalize().toString());
        run.set("adapters", Json.MAPPER.valueToTree(names));
        run.put("data", o.data.toAbsolutePath().normalize().toString());
        run.put("tasks", String.join(",", taskSet));
        run.put("questions", questions.size());
        run.put("chat_template", o.chatTemplate);
        try (OutputLock _ = OutputLock.inside(o.output, "eval truthfulqa")) {
            checkSameRun(run);
            return evaluateModels(scorer, run, names, questions, taskSet, ds);
        } catch (OutputException e) {
            throw e.withAdvice("every row written before stays in its results.jsonl: free some space and run the same command to go on");
        }
    }

    private EvalResult evaluateModels(Scorer scorer, ObjectNode run, Map<String, String> names, List<TruthfulQaData.Question> questions,
                                      Set<String> taskSet, TruthfulQaData.Dataset ds) throws IOException {
        Files.createDirectories(o.output);
        Files.writeString(o.output.resolve("run.json"), Json.write(run));
        List<EvalReport.Scored> scored = scorer.scoreAll(this, names, questions, taskSet);
        Map<String, String> about = new LinkedHashMap<>();
        about.put("model", run.get("model").asText());
        names.forEach((k, v) -> {
            if (v != null) {
                about.put("adapter " + k, v);
            }
        });
        about.put("data", (ds.mcJson() != null ? ds.mcJson() + " " : "") + (ds.csv() != null ? ds.csv() : ""));
        about.put("tasks", String.join(", ", taskSet) + (o.chatTemplate ? " (chat template)" : " (lm-eval prompts, no chat template)"));
        about.put("questions", questions.size() + " of " + ds.questions().size());
        about.put("time", String.join(", ", scored.stream().map(s -> s.name() + " " + Math.round(s.summary().get("seconds").asDouble()) + " s").toList()));
        EvalReport.write(o.output, about, scored);
        Map<String, Map<String, Double>> metrics = new LinkedHashMap<>();
        for (EvalReport.Scored s : scored) {
            Map<String, Double> m = new LinkedHashMap<>();
            EvalReport.metricsOf(s.summary()).forEach(k -> m.put(k, s.summary().get(k).asDouble()));
            metrics.put(s.name(), m);
        }
        return new EvalResult(List.copyOf(names.keySet()), metrics, o.output.resolve("report.html"), o.output.resolve("report.md"));
    }

    /** Scores every model in this process, one after another, appending each question's row as its batch ends. */
    public List<EvalReport.Scored> scoreLocally(Map<String, String> names, List<TruthfulQaData.Question> questions, Set<String> taskSet)
            throws IOException {
        GemmaModel m = GemmaModel.load(o.model);
        List<EvalReport.Scored> scored = new ArrayList<>();
        try (HfTokenizer tok = HfTokenizer.load(o.tokenizerDir())) {
            for (var e : names.entrySet()) {
                LoraAdapter.detach(m);
                if (e.getValue() != null) {
                    LoraAdapter.load(Path.of(e.getValue()), m).attach(m);
                }
                scored.add(scoreModel(m, tok, e.getKey(), e.getValue(), questions, taskSet));
            }
        } finally {
            LoraAdapter.detach(m);
        }
        return scored;
    }

    /** "base" plus one name per adapter: its folder name, made unique. */
    private Map<String, String> modelNames() {
        Map<String, String> names = new LinkedHashMap<>();
        names.put("base", null);
        Set<String> used = new HashSet<>(names.keySet());
        for (Path a : o.adapters) {
            if (!Files.isDirectory(a)) {
                throw new InputException(a + ": adapter folder not found");
            }
            Path abs = a.toAbsolutePath().normalize();
            String n = abs.getFileName().toString();
            if (n.equals("final") && abs.getParent() != null) {
                n = abs.getParent().getFileName().toString();
            }
            String unique = n;
            for (int i = 2; used.contains(unique); i++) {
                unique = n + "-" + i;
            }
            used.add(unique);
            names.put(unique, abs.toString());
        }
        return names;
    }

    private void checkSameRun(ObjectNode run) {
        Path file = o.output.resolve("run.json");
        if (Files.isRegularFile(file)) {
            JsonNode old = Json.read(file);
            if (!old.equals(run)) {
                throw new InputException(o.output + ": holds an evaluation with other settings (" + file
                        + "); choose another --output, or rerun with the same options to resume it");
            }
        } else if (Files.isDirectory(o.output) && Files.exists(o.output.resolve("report.md"))) {
            throw new InputException(o.output + ": holds a report from another run; choose another --output");
        }
    }

    /** Where a model's rows go: output/name/results.jsonl. */
    public Path resultsFile(String name) {
        return o.output.resolve(name).resolve("results.jsonl");
    }

    /** The questions of a model not yet in its results file; rows receives the rows already there. */
    public List<TruthfulQaData.Question> todo(String name, List<TruthfulQaData.Question> questions, List<ObjectNode> rows)
            throws IOException {
        Path results = resultsFile(name);
        rows.addAll(ResultsFile.readDone(results));
        Set<Integer> done = new HashSet<>();
        rows.forEach(r -> done.add(r.get("index").asInt()));
        if (!done.isEmpty()) {
            listener.onMessage(name + ": " + done.size() + " questions already scored in " + results + ", resuming");
        }
        return questions.stream().filter(q -> !done.contains(q.index())).toList();
    }

    private EvalReport.Scored scoreModel(GemmaModel m, HfTokenizer tok, String name, String adapter,
                                         List<TruthfulQaData.Question> questions, Set<String> taskSet) throws IOException {
        Path results = resultsFile(name);
        List<ObjectNode> rows = new ArrayList<>();
        List<TruthfulQaData.Question> todo = todo(name, questions, rows);
        long primer = 0;
        if (!todo.isEmpty()) {
            long t0 = System.nanoTime();
            TruthfulQaEval eval = new TruthfulQaEval(m, tok, taskSet, o.chatTemplate, o.batch);
            primer = eval.positions();
            long[] positions = {0};
            listener.onModelStart(name, questions.size(), rows.size());
            try (ResultsFile out = ResultsFile.append(results)) {
                eval.evaluateAll(todo, row -> {
                    out.write(row);
                    rows.add(row);
                    positions[0] += row.get("positions").asLong();
                    listener.onQuestion(name, positions[0] / ((System.nanoTime() - t0) / 1e9));
                });
            } finally {
                listener.onModelEnd(name);
            }
        }
        return finish(name, adapter, rows, primer);
    }

    /**
     * Writes a model's summary.json from all its rows (sorted here into question order) and the
     * primer positions computed for it; returns what the report needs.
     */
    public EvalReport.Scored finish(String name, String adapter, List<ObjectNode> rows, long primerPositions) throws IOException {
        rows.sort(Comparator.comparingInt(r -> r.get("index").asInt()));
        ObjectNode summary = Summary.json(rows, primerPositions);
        summary.put("model", o.model.toAbsolutePath().normalize().toString());
        if (adapter != null) {
            summary.put("adapter", adapter);
        }
        Files.writeString(o.output.resolve(name).resolve("summary.json"), Json.write(summary));
        return new EvalReport.Scored(name, adapter, rows, summary);
    }
}
