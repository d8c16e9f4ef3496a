package dev.gemmalora.cli;

import dev.gemmalora.api.TrainListener;
import dev.gemmalora.api.TrainOptions;
import dev.gemmalora.api.TrainProgress;
import dev.gemmalora.api.TrainResult;
import dev.gemmalora.api.Training;
import dev.gemmalora.lora.LoraAdapter;
import dev.gemmalora.model.GemmaModel;
import dev.gemmalora.train.DivergedException;
import dev.gemmalora.train.StepGradients;
import dev.gemmalora.train.TrainConfig;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ProgressBar;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

@Command(name = "train", mixinStandardHelpOptions = true, showDefaultValues = true, sortOptions = false,
        description = {"Fine-tune a Gemma model with LoRA on Alpaca-format records (the reference recipe by default).",
                "Writes checkpoint-N folders, metrics.jsonl, loss_curve.png and the PEFT adapter in <output>/final."})
public class TrainCommand implements Callable<Integer> {
    @Mixin
    protected TrainOptions options;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        TrainResult result;
        try (Console console = new Console()) {
            result = Training.run(options, console, this::stepGradients);
        } catch (DivergedException e) {
            System.err.println("error: " + e.getMessage());
            return 1;
        }
        if (result.stopped()) {
            List<String> args = new ArrayList<>(spec.commandLine().getParseResult().originalArgs());
            if (!args.contains("--resume")) {
                args.add("--resume");
            }
            System.err.printf("stopped at step %d of %d; %s holds it. Continue with:%n  %s %s%n", result.step(), result.totalSteps(),
                    result.checkpoint(), spec.root().name(), String.join(" ", args.stream().map(TrainCommand::shellQuoted).toList()));
            return StopRequests.EXIT_CODE;
        }
        System.out.println("adapter (PEFT format): " + result.adapter());
        System.out.println("metrics: " + result.metrics());
        System.out.println("loss curve: " + result.lossCurve());
        return 0;
    }

    private static String shellQuoted(String arg) {
        return arg.matches("[A-Za-z0-9_./=:,@+-]+") ? arg : "'" + arg.replace("'", "'\\''") + "'";
    }

    /** Where each step's micro-batches are computed: in this process. A cluster job computes them on its workers. */
    protected StepGradients stepGradients(GemmaModel model, LoraAdapter adapter, TrainConfig cfg) {
        return Training.LOCAL.create(model, adapter, cfg);
    }

    /** The run on the terminal: progress bars with loss, learning rate, tokens/s and ETA; Ctrl-C stops after the step in flight. */
    private static final class Console implements TrainListener, AutoCloseable {
        private ProgressBar tokenizing;
        private ProgressBar training;
        private StopRequests stops;

        @Override
        public void onMessage(String line) {
            System.out.println(line);
        }

        @Override
        public void onWarning(String line) {
            System.err.println("warning: " + line);
        }

        @Override
        public void onTokenized(int done, int total) {
            if (tokenizing == null) {
                tokenizing = Progress.start("tokenize", total);
            }
            tokenizing.stepTo(done);
            if (done == total) {
                tokenizing.close();
                tokenizing = null;
            }
        }

        @Override
        public void onStart(int firstStep, int totalSteps) {
            stops = StopRequests.install("after the optimizer step in flight, with a checkpoint");
            training = Progress.start("train", totalSteps, firstStep, Duration.ZERO);
        }

        @Override
        public void onStep(TrainProgress p) {
            training.stepTo(p.step());
            training.setExtraMessage(String.format("loss %.4f lr %.2e %.0f tok/s%s", p.loss(), p.learningRate(), p.tokensPerSecond(),
                    p.workers() > 1 ? ", " + p.workers() + " executors" : ""));
        }

        @Override
        public boolean stopRequested() {
            return stops != null && stops.requested();
        }

        @Override
        public void close() {
            if (tokenizing != null) {
                tokenizing.close();
            }
            if (training != null) {
                training.close();
            }
            if (stops != null) {
                stops.close();
            }
        }
    }
}
