package dev.gemmalora.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gemmalora.data.AlpacaReader;
import dev.gemmalora.data.AlpacaRecord;
import dev.gemmalora.data.PromptFormat;
import dev.gemmalora.data.TrainingExample;
import dev.gemmalora.io.AtomicDir;
import dev.gemmalora.io.InputException;
import dev.gemmalora.io.Json;
import dev.gemmalora.io.OutputException;
import dev.gemmalora.io.OutputLock;
import dev.gemmalora.lora.LoraAdapter;
import dev.gemmalora.lora.LoraConfig;
import dev.gemmalora.lora.LoraInit;
import dev.gemmalora.model.CrossEntropy;
import dev.gemmalora.model.Gemma2Model;
import dev.gemmalora.report.Charts;
import dev.gemmalora.tokenizer.HfTokenizer;
import dev.gemmalora.train.Checkpoint;
import dev.gemmalora.train.CheckpointManifest;
import dev.gemmalora.train.DivergedException;
import dev.gemmalora.train.LocalGradients;
import dev.gemmalora.train.StepGradients;
import dev.gemmalora.train.TrainConfig;
import dev.gemmalora.train.Trainer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ProgressBar;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "train", mixinStandardHelpOptions = true, showDefaultValues = true, sortOptions = false,
        description = {"Fine-tune a Gemma-2 model with LoRA on Alpaca-format records (the reference recipe by default).",
                "Writes checkpoint-N folders, metrics.jsonl, loss_curve.png and the PEFT adapter in <output>/final."})
public class TrainCommand implements Callable<Integer> {
    @Mixin
    ModelOptions models;

    @Spec
    CommandSpec spec;

    @Option(names = "--data", required = true, paramLabel = "FILE", description = "Alpaca records: JSON array or JSON Lines with instruction, input, output.")
    Path data;

    @Option(names = "--output", required = true, paramLabel = "DIR", description = "Output folder.")
    Path output;

    @Option(names = "--format", defaultValue = "recipe", paramLabel = "recipe|chat",
            description = "Prompt format: the reference recipe's turn format, or the tokenizer's chat template with instruction and input joined by a blank line.")
    String format;

    @Option(names = "--epochs", defaultValue = "3", description = "Passes over the data.")
    int epochs;

    @Option(names = "--max-steps", defaultValue = "-1", description = "Stop after this many optimizer steps (overrides --epochs when > 0).")
    int maxSteps;

    @Option(names = "--batch-size", defaultValue = "4", description = "Examples per micro-batch.")
    int batchSize;

    @Option(names = "--grad-accum", defaultValue = "4", description = "Micro-batches per optimizer step.")
    int gradAccum;

    @Option(names = "--lr", defaultValue = "1e-4", description = "Peak learning rate (AdamW).")
    double lr;

    @Option(names = "--warmup-steps", defaultValue = "0", description = "Linear warmup steps before the linear decay.")
    int warmupSteps;

    @Option(names = "--max-grad-norm", defaultValue = "1.0", description = "Clip the global gradient norm to this (0: no clipping).")
    double maxGradNorm;

    @Option(names = "--weight-decay", defaultValue = "0.0", description = "AdamW decoupled weight decay.")
    double weightDecay;

    @Option(names = "--save-steps", defaultValue = "100", description = "Write checkpoint-N every this many steps (0: never).")
    int saveSteps;

    @Option(names = "--logging-steps", defaultValue = "10", description = "Append to metrics.jsonl every this many steps.")
    int loggingSteps;

    @Option(names = "--max-length", defaultValue = "384", description = "Cut each example to this many tokens.")
    int maxLength;

    @Option(names = "--max-samples", defaultValue = "-1", description = "Use only the first N records (-1: all).")
    int maxSamples;

    @Option(names = "--seed", defaultValue = "42", description = "Seed of LoRA init, shuffling and dropout.")
    long seed;

    @Option(names = "--lora-r", defaultValue = "8", description = "LoRA rank.")
    int loraR;

    @Option(names = "--lora-alpha", defaultValue = "32", description = "LoRA alpha (scale alpha/r, or alpha/sqrt(r) with --rslora).")
    double loraAlpha;

    @Option(names = "--lora-dropout", defaultValue = "0.1", description = "Dropout on the LoRA input.")
    double loraDropout;

    @Option(names = "--target-modules", split = ",", defaultValue = "q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj",
            description = "Projections that get a LoRA pair.")
    List<String> targetModules;

    @Option(names = "--rslora", description = "Rank-stabilised scaling alpha/sqrt(r).")
    boolean rslora;

    @Option(names = "--gradient-checkpointing", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "Recompute each layer in the backward pass instead of keeping its activations.")
    boolean gradientCheckpointing;

    @Option(names = "--resume", description = "Continue from the newest complete checkpoint in --output.")
    boolean resume;

    private final List<Map<String, Object>> history = new ArrayList<>();

    @Override
    public Integer call() throws IOException {
        validate();
        try (OutputLock _ = OutputLock.inside(output, "train")) {
            refuseAnotherRun();
            return train();
        }
    }

    private int train() throws IOException {
        Path tokDir = models.tokenizerDir();
        Gemma2Model m = Gemma2Model.load(models.model);
        PromptFormat fmt = "chat".equals(format) ? PromptFormat.CHAT : PromptFormat.RECIPE;
        List<AlpacaRecord> records = AlpacaReader.read(data);
        if (maxSamples > 0 && records.size() > maxSamples) {
            records = records.subList(0, maxSamples);
        }
        if (records.isEmpty()) {
            throw new InputException(data + ": no records");
        }
        int padId = m.config().padTokenId();
        List<TrainingExample> examples = new ArrayList<>(records.size());
        try (HfTokenizer tok = HfTokenizer.load(tokDir); ProgressBar bar = Progress.start("tokenize", records.size())) {
            for (AlpacaRecord r : records) {
                examples.add(fmt.encode(tok, r, maxLength, padId));
                bar.step();
            }
        }
        warnAboutCutResponses(examples);
        TrainConfig cfg = new TrainConfig(epochs, maxSteps, batchSize, gradAccum, lr, warmupSteps, maxGradNorm,
                loggingSteps, saveSteps, seed, gradientCheckpointing, 0.9, 0.999, 1e-8, weightDecay);
        LoraConfig loraCfg = LoraConfig.of(loraR, loraAlpha, loraDropout, rslora, targetModules)
                .withBaseModel(models.model.toAbsolutePath().normalize().toString());
        LoraAdapter adapter = LoraInit.create(m, loraCfg, seed);
        StepGradients gradients = stepGradients(m, adapter, cfg);
        Trainer trainer = new Trainer(adapter, cfg, gradients);
        String fingerprint = Checkpoint.fingerprint(examples);
        int total = trainer.totalSteps(examples.size());
        Files.createDirectories(output);
        Path metrics = output.resolve("metrics.jsonl");
        if (resume) {
            resumeFrom(trainer, examples.size(), fingerprint, metrics);
        } else {
            Files.deleteIfExists(metrics);
        }
        long labelTokens = examples.stream().mapToLong(e -> e.labels().length).sum();
        System.out.printf("training %s%s: %,d examples (%,d tokens), %,d step%s (batch %d x accumulation %d, %s), LoRA r %d alpha %s on %d modules (%,d parameters)%n",
                models.model, gradients.where(), examples.size(), labelTokens, total, total == 1 ? "" : "s", batchSize, gradAccum,
                maxSteps > 0 ? "max steps" : epochs + (epochs == 1 ? " epoch" : " epochs"), loraR, fmtNum(loraAlpha), adapter.pairs().size(),
                adapter.parameters().stream().mapToLong(p -> p.length).sum());
        int startStep = trainer.step();
        try (StopRequests stops = StopRequests.install("after the optimizer step in flight, with a checkpoint");
             ProgressBar bar = Progress.start("train", total, startStep, Duration.ZERO)) {
            StepLogger logger = new StepLogger(bar, trainer, total, examples.size(), fingerprint, stops);
            trainer.train(examples, padId, logger);
        } catch (OutputException e) {
            throw e.withAdvice(resumeAdvice());
        } catch (DivergedException e) {
            Optional<Path> last = Checkpoint.latest(output);
            System.err.println("error: " + e.getMessage() + "; training stopped. "
                    + last.map(p -> "The last good checkpoint is " + p + "; continue with --resume and a lower --lr.")
                    .orElse("No checkpoint was written yet; run again with a lower --lr."));
            return 1;
        }
        if (trainer.step() < total) {
            return stopped(trainer, total, examples.size(), fingerprint);
        }
        Path fin = output.resolve("final");
        try {
            AtomicDir.write(fin, adapter::save);
        } catch (IOException e) {
            throw OutputException.of(fin, 4 * adapter.parameters().stream().mapToLong(p -> p.length).sum() + 4096, e)
                    .withAdvice(resumeAdvice());
        }
        Path plot = output.resolve("loss_curve.png");
        writeLossCurve(plot);
        System.out.println("adapter (PEFT format): " + fin);
        System.out.println("metrics: " + metrics);
        System.out.println("loss curve: " + plot);
        return 0;
    }

    /** After a stop request: a checkpoint of the last finished step (unless --save-steps just wrote it) and how to go on. */
    private int stopped(Trainer trainer, int total, int examples, String fingerprint) throws IOException {
        Path ckpt = output.resolve("checkpoint-" + trainer.step());
        if (!Files.isDirectory(ckpt)) {
            ckpt = Checkpoint.write(output, trainer, total, examples, fingerprint, history);
        }
        List<String> args = new ArrayList<>(spec.commandLine().getParseResult().originalArgs());
        if (!args.contains("--resume")) {
            args.add("--resume");
        }
        System.err.printf("stopped at step %d of %d; %s holds it. Continue with:%n  %s %s%n", trainer.step(), total, ckpt,
                spec.root().name(), String.join(" ", args.stream().map(TrainCommand::shellQuoted).toList()));
        return StopRequests.EXIT_CODE;
    }

    private static String shellQuoted(String arg) {
        return arg.matches("[A-Za-z0-9_./=:,@+-]+") ? arg : "'" + arg.replace("'", "'\\''") + "'";
    }

    /** Where each step's micro-batches are computed: in this process. A cluster job computes them on its workers. */
    protected StepGradients stepGradients(Gemma2Model model, LoraAdapter adapter, TrainConfig cfg) {
        return new LocalGradients(model, adapter, cfg);
    }

    /** The model folder (--model). */
    protected Path modelDir() {
        return models.model;
    }

    /**
     * An example cut by --max-length before its response predicts nothing (labels -100; the first
     * position is never a target): it costs a forward and backward pass and adds nothing to the loss.
     */
    private void warnAboutCutResponses(List<TrainingExample> examples) {
        long empty = examples.stream().filter(e -> Arrays.stream(e.labels()).skip(1).allMatch(l -> l == CrossEntropy.IGNORE)).count();
        if (empty == examples.size()) {
            throw new InputException(data + ": no example keeps a response token within --max-length " + maxLength
                    + "; raise --max-length");
        }
        if (empty > 0) {
            System.err.printf("warning: %,d of %,d examples keep no response token within --max-length %d; they add nothing to the loss%n",
                    empty, examples.size(), maxLength);
        }
    }

    private void validate() {
        if (!"recipe".equals(format) && !"chat".equals(format)) {
            throw new InputException("--format is '" + format + "', expected recipe or chat");
        }
        if (batchSize < 1 || gradAccum < 1 || maxLength < 2 || loraR < 1) {
            throw new InputException("--batch-size, --grad-accum and --lora-r must be at least 1, --max-length at least 2");
        }
        if (!(lr > 0) || loraDropout < 0 || loraDropout >= 1) {
            throw new InputException("--lr must be positive and --lora-dropout in [0, 1)");
        }
    }

    /** Without --resume, an output that already holds a run is left alone. */
    private void refuseAnotherRun() {
        if (!resume && Files.isDirectory(output)) {
            boolean run = Files.exists(output.resolve("final")) || Files.exists(output.resolve("metrics.jsonl"))
                    || Checkpoint.latest(output).isPresent();
            if (run) {
                throw new InputException(output + ": already holds a training run; pass --resume to continue it, or choose another --output");
            }
        }
    }

    private void resumeFrom(Trainer trainer, int examples, String fingerprint, Path metrics) throws IOException {
        Optional<Path> last = undamagedCheckpoint();
        if (last.isEmpty()) {
            System.out.println("no checkpoint in " + output + " yet; starting from step 0");
            Files.deleteIfExists(metrics);
            return;
        }
        JsonNode state = Checkpoint.restore(last.get(), trainer, examples, fingerprint);
        for (JsonNode row : state.path("log_history")) {
            history.add(Json.MAPPER.convertValue(row, Map.class));
        }
        StringBuilder kept = new StringBuilder();
        history.forEach(row -> kept.append(Json.MAPPER.valueToTree(row).toString()).append('\n'));
        Files.writeString(metrics, kept);
        System.out.println("resuming from " + last.get() + " (step " + trainer.step() + ")");
    }

    /** The newest checkpoint whose files match their manifest; a damaged one is named and passed over. */
    private Optional<Path> undamagedCheckpoint() {
        List<Path> all = Checkpoint.newestFirst(output);
        for (Path p : all) {
            Optional<String> damage = CheckpointManifest.damage(p);
            if (damage.isEmpty()) {
                return Optional.of(p);
            }
            System.err.println("warning: " + p + " is damaged: " + damage.get() + "; trying the checkpoint before it");
        }
        if (!all.isEmpty()) {
            throw new InputException(output + ": every checkpoint is damaged (see the warnings above); start again without --resume"
                    + " in another --output");
        }
        return Optional.empty();
    }

    /** Updates the bar every step, logs every --logging-steps, checkpoints every --save-steps. */
    private final class StepLogger implements Trainer.Listener {
        private final ProgressBar bar;
        private final Trainer trainer;
        private final int total;
        private final int examples;
        private final String fingerprint;
        private final StopRequests stops;
        private final long start = System.nanoTime();
        /** Seconds the runs before a resume had trained, to their last logged row: elapsed_s goes on from there. */
        private final double elapsedBefore;
        private double intervalLoss;
        private int intervalSteps;
        private long tokens;
        private double seconds;

        StepLogger(ProgressBar bar, Trainer trainer, int total, int examples, String fingerprint, StopRequests stops) {
            this.stops = stops;
            this.bar = bar;
            this.trainer = trainer;
            this.total = total;
            this.examples = examples;
            this.fingerprint = fingerprint;
            this.elapsedBefore = history.isEmpty() ? 0 : ((Number) history.getLast().getOrDefault("elapsed_s", 0)).doubleValue();
        }

        @Override
        public boolean stopRequested() {
            return stops.requested();
        }

        @Override
        public void onStep(Trainer.StepLog log) {
            intervalLoss += log.loss();
            intervalSteps++;
            tokens += log.tokens();
            seconds += log.seconds();
            bar.stepTo(log.step());
            bar.setExtraMessage(String.format("loss %.4f lr %.2e %.0f tok/s%s", log.loss(), log.lr(), log.tokens() / log.seconds(),
                    trainer.workers() > 1 ? ", " + trainer.workers() + " executors" : ""));
            if (log.step() % Math.max(1, loggingSteps) == 0 || log.step() == total) {
                Map<String, Object> row = new LinkedHashMap<>();
                row.put("step", log.step());
                row.put("epoch", log.epoch());
                row.put("loss", intervalLoss / intervalSteps);
                row.put("learning_rate", log.lr());
                row.put("grad_norm", log.gradNorm());
                row.put("tokens", tokens);
                row.put("tokens_per_s", tokens / seconds);
                row.put("elapsed_s", elapsedBefore + (System.nanoTime() - start) / 1e9);
                history.add(row);
                appendRow(Json.MAPPER.valueToTree(row).toString() + "\n");
                intervalLoss = 0;
                intervalSteps = 0;
                tokens = 0;
                seconds = 0;
            }
            if (saveSteps > 0 && log.step() % saveSteps == 0) {
                Checkpoint.write(output, trainer, total, examples, fingerprint, history);
            }
        }
    }

    /** A metrics row, appended whole or reported (a failed append leaves at most a cut last line, which resume rewrites). */
    private void appendRow(String line) {
        Path metrics = output.resolve("metrics.jsonl");
        try {
            Files.writeString(metrics, line, java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw OutputException.of(metrics, line.length(), e);
        }
    }

    /** What to do after a failed write of the run's output. */
    private String resumeAdvice() {
        return Checkpoint.latest(output).map(p -> p + " is intact: free some space and run the same command with --resume")
                .orElse("no checkpoint was written yet: free some space and run the command again");
    }

    private void writeLossCurve(Path png) throws IOException {
        List<double[]> points = history.stream()
                .map(r -> new double[] {((Number) r.get("step")).doubleValue(), ((Number) r.get("loss")).doubleValue()}).toList();
        Charts.lines(png, "Training loss", "step", "loss (mean over logging interval)", Map.of("loss", points), 900, 500);
    }

    private static String fmtNum(double v) {
        return v == Math.rint(v) ? String.valueOf((long) v) : String.valueOf(v);
    }
}
