package dev.gemmalora.cli;

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
import dev.gemmalora.model.Gemma2Model;
import dev.gemmalora.report.EvalReport;
import dev.gemmalora.tokenizer.HfTokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ProgressBar;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "truthfulqa", mixinStandardHelpOptions = true, showDefaultValues = true, sortOptions = false,
        description = {"Score the base model and each adapter on TruthfulQA as lm-evaluation-harness does, and write a comparison report.",
                "Writes <output>/<name>/results.jsonl and summary.json per model (base, then each adapter by folder name), "
                        + "then report.md and report.html. Rerunning with the same --output resumes."})
public class EvalTruthfulQaCommand implements Callable<Integer> {
    @Mixin
    ModelOptions models;

    @Option(names = "--adapter", paramLabel = "DIR", showDefaultValue = CommandLine.Help.Visibility.NEVER, description = "PEFT LoRA adapter folder; repeat to compare several. The base model is always scored.")
    List<Path> adapters = new ArrayList<>();

    @Option(names = "--data", required = true, paramLabel = "PATH", description = "Folder with TruthfulQA.csv and/or mc_task.json, or one of those files.")
    Path data;

    @Option(names = "--tasks", split = ",", defaultValue = "mc1,mc2", paramLabel = "TASK",
            description = "Any of mc1, mc2, gen, binary (binary needs the 2025 files).")
    List<String> tasks;

    @Option(names = "--limit", defaultValue = "-1", description = "Score only the first N questions (-1: all).")
    int limit;

    @Option(names = "--output", required = true, paramLabel = "DIR", description = "Output folder (resumed if it holds the same evaluation).")
    Path output;

    @Option(names = "--chat-template", description = "Wrap each prompt in the Gemma chat template (off: lm-eval's default, comparable with published numbers).")
    boolean chatTemplate;

    @Option(names = "--batch", defaultValue = "" + TruthfulQaEval.DEFAULT_BATCH,
            description = "Questions scored together, each with all its answer choices, and for gen decoded together"
                    + " (bigger GEMMs, the weights read once a step for all; an interrupted run redoes at most one batch).")
    int batch;

    @Override
    public Integer call() throws IOException {
        if (batch < 1) {
            throw new InputException("--batch: " + batch + ", expected at least 1 question per batch");
        }
        Set<String> taskSet = new LinkedHashSet<>(tasks);
        for (String t : taskSet) {
            if (!TruthfulQaEval.TASKS.contains(t)) {
                throw new InputException("--tasks: unknown task '" + t + "', expected some of " + TruthfulQaEval.TASKS);
            }
        }
        TruthfulQaData.Dataset ds = TruthfulQaData.load(data);
        if ((taskSet.contains("mc1") || taskSet.contains("mc2")) && !ds.hasMc()) {
            throw new InputException(data + ": mc1/mc2 need " + TruthfulQaData.MC_JSON);
        }
        if (taskSet.contains("binary") && !ds.hasBinary()) {
            throw new InputException((ds.mcJson() != null ? ds.mcJson() : data) + ": has no mc0_targets; the binary task needs the 2025 "
                    + "revision of TruthfulQA, not the original 817-question files ('download truthfulqa --output DIR' puts the revision "
                    + "in DIR and the originals in DIR/v0)");
        }
        if (taskSet.contains("gen") && !ds.hasGen()) {
            throw new InputException(data + ": the gen task needs " + TruthfulQaData.CSV + " (its references)");
        }
        List<TruthfulQaData.Question> questions = ds.questions();
        if (limit > 0 && limit < questions.size()) {
            questions = questions.subList(0, limit);
        }
        Map<String, String> names = modelNames();
        ObjectNode run = Json.MAPPER.createObjectNode();
        run.put("model", models.model.toAbsolutePath().normalize().toString());
        run.set("adapters", Json.MAPPER.valueToTree(names));
        run.put("data", data.toAbsolutePath().normalize().toString());
        run.put("tasks", String.join(",", taskSet));
        run.put("questions", questions.size());
        run.put("chat_template", chatTemplate);
        try (OutputLock _ = OutputLock.inside(output, "eval truthfulqa")) {
            checkSameRun(run);
            evaluate(run, names, questions, taskSet, ds);
        }
        return 0;
    }

    private void evaluate(ObjectNode run, Map<String, String> names, List<TruthfulQaData.Question> questions, Set<String> taskSet,
                          TruthfulQaData.Dataset ds) throws IOException {
        try {
            evaluateModels(run, names, questions, taskSet, ds);
        } catch (OutputException e) {
            throw e.withAdvice("every row written before stays in its results.jsonl: free some space and run the same command to go on");
        }
    }

    private void evaluateModels(ObjectNode run, Map<String, String> names, List<TruthfulQaData.Question> questions,
                                Set<String> taskSet, TruthfulQaData.Dataset ds) throws IOException {
        Files.createDirectories(output);
        Files.writeString(output.resolve("run.json"), Json.write(run));

        List<EvalReport.Scored> scored = scoreAll(names, questions, taskSet);
        Map<String, String> about = new LinkedHashMap<>();
        about.put("model", run.get("model").asText());
        names.forEach((k, v) -> {
            if (v != null) {
                about.put("adapter " + k, v);
            }
        });
        about.put("data", (ds.mcJson() != null ? ds.mcJson() + " " : "") + (ds.csv() != null ? ds.csv() : ""));
        about.put("tasks", String.join(", ", taskSet) + (chatTemplate ? " (chat template)" : " (lm-eval prompts, no chat template)"));
        about.put("questions", questions.size() + " of " + ds.questions().size());
        about.put("time", String.join(", ", scored.stream().map(s -> s.name() + " " + Math.round(s.summary().get("seconds").asDouble()) + " s").toList()));
        EvalReport.write(output, about, scored);
        printTable(scored);
        System.out.println("report: " + output.resolve("report.html") + " and " + output.resolve("report.md"));
    }

    /**
     * Scores every model (names: "base" and each adapter's name, to its folder or null for the
     * base) in this process, one after another, appending each question's row as its batch ends.
     */
    protected List<EvalReport.Scored> scoreAll(Map<String, String> names, List<TruthfulQaData.Question> questions,
                                               Set<String> taskSet) throws IOException {
        Gemma2Model m = Gemma2Model.load(models.model);
        List<EvalReport.Scored> scored = new ArrayList<>();
        try (HfTokenizer tok = HfTokenizer.load(models.tokenizerDir())) {
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
        for (Path a : adapters) {
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
        Path file = output.resolve("run.json");
        if (Files.isRegularFile(file)) {
            JsonNode old = Json.read(file);
            if (!old.equals(run)) {
                throw new InputException(output + ": holds an evaluation with other settings (" + file
                        + "); choose another --output, or rerun with the same options to resume it");
            }
        } else if (Files.isDirectory(output) && Files.exists(output.resolve("report.md"))) {
            throw new InputException(output + ": holds a report from another run; choose another --output");
        }
    }

    /** Where a model's rows go: output/name/results.jsonl. */
    protected Path resultsFile(String name) {
        return output.resolve(name).resolve("results.jsonl");
    }

    /** The questions of a model not yet in its results file; rows receives the rows already there. */
    protected List<TruthfulQaData.Question> todo(String name, List<TruthfulQaData.Question> questions, List<ObjectNode> rows)
            throws IOException {
        Path results = resultsFile(name);
        rows.addAll(ResultsFile.readDone(results));
        Set<Integer> done = new HashSet<>();
        rows.forEach(r -> done.add(r.get("index").asInt()));
        if (!done.isEmpty()) {
            System.out.println(name + ": " + done.size() + " questions already scored in " + results + ", resuming");
        }
        return questions.stream().filter(q -> !done.contains(q.index())).toList();
    }

    private EvalReport.Scored scoreModel(Gemma2Model m, HfTokenizer tok, String name, String adapter,
                                         List<TruthfulQaData.Question> questions, Set<String> taskSet) throws IOException {
        Path results = resultsFile(name);
        List<ObjectNode> rows = new ArrayList<>();
        List<TruthfulQaData.Question> todo = todo(name, questions, rows);
        int done = rows.size();
        long primer = 0;
        if (!todo.isEmpty()) {
            long t0 = System.nanoTime();
            TruthfulQaEval eval = new TruthfulQaEval(m, tok, taskSet, chatTemplate, batch);
            primer = eval.positions();
            long[] positions = {0};
            try (ResultsFile out = ResultsFile.append(results);
                 ProgressBar bar = Progress.start(name, questions.size(), done, Duration.ZERO)) {
                eval.evaluateAll(todo, row -> {
                    out.write(row);
                    rows.add(row);
                    positions[0] += row.get("positions").asLong();
                    bar.step();
                    bar.setExtraMessage(String.format("%.0f tok/s", positions[0] / ((System.nanoTime() - t0) / 1e9)));
                });
            }
        }
        return finish(name, adapter, rows, primer);
    }

    /**
     * Writes a model's summary.json from all its rows (sorted here into question order) and the
     * primer positions computed for it; returns what the report needs.
     */
    protected EvalReport.Scored finish(String name, String adapter, List<ObjectNode> rows, long primerPositions) throws IOException {
        rows.sort(Comparator.comparingInt(r -> r.get("index").asInt()));
        ObjectNode summary = Summary.json(rows, primerPositions);
        summary.put("model", models.model.toAbsolutePath().normalize().toString());
        if (adapter != null) {
            summary.put("adapter", adapter);
        }
        Files.writeString(output.resolve(name).resolve("summary.json"), Json.write(summary));
        return new EvalReport.Scored(name, adapter, rows, summary);
    }

    protected Path modelDir() {
        return models.model;
    }

    protected Path tokenizerDir() {
        return models.tokenizerDir();
    }

    protected boolean chatTemplate() {
        return chatTemplate;
    }

    /** Questions scored together (--batch). */
    protected int batch() {
        return batch;
    }

    private static void printTable(List<EvalReport.Scored> scored) {
        List<String> metrics = EvalReport.metricsOf(scored.get(0).summary());
        StringBuilder sb = new StringBuilder(String.format("%-12s", "metric"));
        scored.forEach(s -> sb.append(String.format(" %12s", s.name())));
        System.out.println(sb);
        for (String mName : metrics) {
            StringBuilder r = new StringBuilder(String.format("%-12s", mName));
            scored.forEach(s -> r.append(String.format(" %12.4f", s.summary().get(mName).asDouble())));
            System.out.println(r);
        }
    }
}
