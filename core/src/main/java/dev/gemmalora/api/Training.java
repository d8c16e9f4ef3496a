package dev.gemmalora.api;

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
import dev.gemmalora.model.GemmaModel;
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
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A LoRA training run, as `gemma-lora train` does it: checkpoints every save-steps, metrics.jsonl,
 * the loss curve and the PEFT adapter in output/final, resume, one writer per output folder.
 */
public final class Training {
    /** Where each step's micro-batches are computed (in this process, or on a cluster's workers). */
    public interface GradientSource {
        StepGradients create(GemmaModel model, LoraAdapter adapter, TrainConfig config);
    }

    /** In this process, on the engine's threads. */
    public static final GradientSource LOCAL = LocalGradients::new;

    private final TrainOptions o;
    private final TrainListener listener;
    private final List<Map<String, Object>> history = new ArrayList<>();

    private Training(TrainOptions options, TrainListener listener) {
        this.o = options;
        this.listener = listener;
    }

    /** Trains in this process, quietly. */
    public static TrainResult run(TrainOptions options) throws IOException {
        return run(options, new TrainListener() { }, LOCAL);
    }

    /**
     * Trains with options, telling listener how it goes. Throws InputException for bad options or
     * files (naming them), OutputException when the output cannot be written (what is intact is
     * said), DivergedException when the loss stops being finite (the last good checkpoint is said).
     */
    public static TrainResult run(TrainOptions options, TrainListener listener, GradientSource gradients) throws IOException {
        options.validate();
        try (OutputLock _ = OutputLock.inside(options.output, "train")) {
            Training t = new Training(options, listener);
            t.refuseAnotherRun();
            return t.train(gradients);
        }
    }

    private TrainResult train(GradientSource source) throws IOException {
        GemmaModel m = GemmaModel.load(o.model);
        PromptFormat fmt = "chat".equals(o.format) ? PromptFormat.CHAT : PromptFormat.RECIPE;
        List<AlpacaRecord> records = AlpacaReader.read(o.data);
        if (o.maxSamples > 0 && records.size() > o.maxSamples) {
            records = records.subList(0, o.maxSamples);
        }
        if (records.isEmpty()) {
            throw new InputException(o.data + ": no records");
        }
        int padId = m.config().padTokenId();
        List<TrainingExample> examples = new ArrayList<>(records.size());
        try (HfTokenizer tok = HfTokenizer.load(o.tokenizerDir())) {
            for (AlpacaRecord r : records) {
                examples.add(fmt.encode(tok, r, o.maxLength, padId));
                listener.onTokenized(examples.size(), records.size());
            }
        }
        warnAboutCutResponses(examples);
        TrainConfig cfg = new TrainConfig(o.epochs, o.maxSteps, o.batchSize, o.gradAccum, o.lr, o.warmupSteps, o.maxGradNorm,
                o.loggingSteps, o.saveSteps, o.seed, o.gradientCheckpointing, 0.9, 0.999, 1e-8, o.weightDecay);
        LoraConfig loraCfg = LoraConfig.of(o.loraR, o.loraAlpha, o.loraDropout, o.rslora, o.targetModules)
                .withBaseModel(o.model.toAbsolutePath().normalize().toString());
        LoraAdapter adapter = LoraInit.create(m, loraCfg, o.seed);
        StepGradients gradients = source.create(m, adapter, cfg);
        Trainer trainer = new Trainer(adapter, cfg, gradients);
        String fingerprint = Checkpoint.fingerprint(examples);
        int total = trainer.totalSteps(examples.size());
        Files.createDirectories(o.output);
        Path metrics = o.output.resolve("metrics.jsonl");
        if (o.resume) {
            resumeFrom(trainer, examples.size(), fingerprint, metrics);
        } else {
            Files.deleteIfExists(metrics);
        }
        long labelTokens = examples.stream().mapToLong(e -> e.labels().length).sum();
        listener.onMessage(String.format("training %s%s: %,d examples (%,d tokens), %,d step%s (batch %d x accumulation %d, %s), LoRA r %d alpha %s on %d modules (%,d parameters)",
                o.model, gradients.where(), examples.size(), labelTokens, total, total == 1 ? "" : "s", o.batchSize, o.gradAccum,
                o.maxSteps > 0 ? "max steps" : o.epochs + (o.epochs == 1 ? " epoch" : " epochs"), o.loraR, fmtNum(o.loraAlpha),
                adapter.pairs().size(), adapter.parameters().stream().mapToLong(p -> p.length).sum()));
        listener.onStart(trainer.step(), total);
        try {
            trainer.train(examples, padId, new StepLogger(trainer, total, examples.size(), fingerprint));
        } catch (OutputException e) {
            throw e.withAdvice(resumeAdvice());
        } catch (DivergedException e) {
            Optional<Path> last = Checkpoint.latest(o.output);
            throw new DivergedException(e.getMessage() + "; training stopped. "
                    + last.map(p -> "The last good checkpoint is " + p + "; continue with --resume and a lower --lr.")
                    .orElse("No checkpoint was written yet; run again with a lower --lr."), e.step());
        }
        if (trainer.step() < total) {
            Path ckpt = o.output.resolve("checkpoint-" + trainer.step());
            if (!Files.isDirectory(ckpt)) {
                ckpt = Checkpoint.write(o.output, trainer, total, examples.size(), fingerprint, history);
            }
            return new TrainResult(null, trainer.step(), total, ckpt, metrics, null);
        }
        Path fin = o.output.resolve("final");
        try {
            AtomicDir.write(fin, adapter::save);
        } catch (IOException e) {
            throw OutputException.of(fin, 4 * adapter.parameters().stream().mapToLong(p -> p.length).sum() + 4096, e)
                    .withAdvice(resumeAdvice());
        }
        Path plot = o.output.resolve("loss_curve.png");
        writeLossCurve(plot);
        return new TrainResult(fin, trainer.step(), total, Checkpoint.latest(o.output).orElse(null), metrics, plot);
    }

    /**
     * An example cut by max-length before its response predicts nothing (labels -100; the first
     * position is never a target): it costs a forward and backward pass and adds nothing to the loss.
     */
    private void warnAboutCutResponses(List<TrainingExample> examples) {
        long empty = examples.stream().filter(e -> Arrays.stream(e.labels()).skip(1).allMatch(l -> l == CrossEntropy.IGNORE)).count();
        if (empty == examples.size()) {
            throw new InputException(o.data + ": no example keeps a response token within --max-length " + o.maxLength
                    + "; raise --max-length");
        }
        if (empty > 0) {
            listener.onWarning(String.format("%,d of %,d examples keep no response token within --max-length %d; they add nothing to the loss",
                    empty, examples.size(), o.maxLength));
        }
    }

    /** Without resume, an output that already holds a run is left alone. */
    private void refuseAnotherRun() {
        if (!o.resume && Files.isDirectory(o.output)) {
            boolean run = Files.exists(o.output.resolve("final")) || Files.exists(o.output.resolve("metrics.jsonl"))
                    || Checkpoint.latest(o.output).isPresent();
            if (run) {
                throw new InputException(o.output + ": already holds a training run; pass --resume to continue it, or choose another --output");
            }
        }
    }

    private void resumeFrom(Trainer trainer, int examples, String fingerprint, Path metrics) throws IOException {
        Optional<Path> last = undamagedCheckpoint();
        if (last.isEmpty()) {
            listener.onMessage("no checkpoint in " + o.output + " yet; starting from step 0");
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
        listener.onMessage("resuming from " + last.get() + " (step " + trainer.step() + ")");
    }

    /** The newest checkpoint whose files match their manifest; a damaged one is named and passed over. */
    private Optional<Path> undamagedCheckpoint() {
        List<Path> all = Checkpoint.newestFirst(o.output);
        for (Path p : all) {
            Optional<String> damage = CheckpointManifest.damage(p);
            if (damage.isEmpty()) {
                return Optional.of(p);
            }
            listener.onWarning(p + " is damaged: " + damage.get() + "; trying the checkpoint before it");
        }
        if (!all.isEmpty()) {
            throw new InputException(o.output + ": every checkpoint is damaged (see the warnings above); start again without --resume"
                    + " in another --output");
        }
        return Optional.empty();
    }

    /** Tells the listener every step, logs every logging-steps, checkpoints every save-steps. */
    private final class StepLogger implements Trainer.Listener {
        private final Trainer trainer;
        private final int total;
        private final int examples;
        private final String fingerprint;
        private final long start = System.nanoTime();
        /** Seconds the runs before a resume had trained, to their last logged row: elapsed_s goes on from there. */
        private final double elapsedBefore;
        private double intervalLoss;
        private int intervalSteps;
        private long tokens;
        private double seconds;

        StepLogger(Trainer trainer, int total, int examples, String fingerprint) {
            this.trainer = trainer;
            this.total = total;
            this.examples = examples;
            this.fingerprint = fingerprint;
            this.elapsedBefore = history.isEmpty() ? 0 : ((Number) history.getLast().getOrDefault("elapsed_s", 0)).doubleValue();
        }

        @Override
        public boolean stopRequested() {
            return listener.stopRequested();
        }

        @Override
        public void onStep(Trainer.StepLog log) {
            intervalLoss += log.loss();
            intervalSteps++;
            tokens += log.tokens();
            seconds += log.seconds();
            listener.onStep(new TrainProgress(log.step(), total, log.epoch(), log.loss(), log.lr(), log.gradNorm(),
                    log.tokens() / log.seconds(), trainer.workers()));
            if (log.step() % Math.max(1, o.loggingSteps) == 0 || log.step() == total) {
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
            if (o.saveSteps > 0 && log.step() % o.saveSteps == 0) {
                Checkpoint.write(o.output, trainer, total, examples, fingerprint, history);
            }
        }
    }

    /** A metrics row, appended whole or reported (a failed append leaves at most a cut last line, which resume rewrites). */
    private void appendRow(String line) {
        Path metrics = o.output.resolve("metrics.jsonl");
        try {
            Files.writeString(metrics, line, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw OutputException.of(metrics, line.length(), e);
        }
    }

    /** What to do after a failed write of the run's output. */
    private String resumeAdvice() {
        return Checkpoint.latest(o.output).map(p -> p + " is intact: free some space and run the same command with --resume")
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
