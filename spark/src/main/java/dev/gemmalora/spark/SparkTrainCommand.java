package dev.gemmalora.spark;

import dev.gemmalora.cli.TrainCommand;
import dev.gemmalora.lora.LoraAdapter;
import dev.gemmalora.model.GemmaModel;
import dev.gemmalora.train.StepGradients;
import dev.gemmalora.train.TrainConfig;
import java.io.IOException;
import org.apache.spark.api.java.JavaSparkContext;
import picocli.CommandLine.Command;

/**
 * train with every option of the CLI's, its checkpoints, metrics and resume, but with each step's
 * micro-batches computed on the Spark executors.
 */
@Command(name = "train", mixinStandardHelpOptions = true, showDefaultValues = true, sortOptions = false,
        description = {"Fine-tune with LoRA as 'gemma-lora train' does, each optimizer step's micro-batches spread over the Spark executors.",
                "Same options, files and adapter bytes as 'gemma-lora train'; --output is on the driver, --model at the same path on every node."})
final class SparkTrainCommand extends TrainCommand {
    private JavaSparkContext sc;

    @Override
    public Integer call() throws IOException {
        try {
            return super.call();
        } finally {
            if (sc != null) {
                SparkJob.stop(sc);
            }
        }
    }

    @Override
    protected StepGradients stepGradients(GemmaModel model, LoraAdapter adapter, TrainConfig cfg) {
        long gradientBytes = 4 * adapter.parameters().stream().mapToLong(p -> p.length).sum();
        sc = SparkJob.start("gemma-lora train", gradientBytes * cfg.gradAccum());
        String failAt = sc.getConf().get(SparkJob.FAIL_TASK, null);
        TrainSpec spec = new TrainSpec(options.model.toAbsolutePath().normalize().toString(), adapter.config(), cfg, failAt);
        return new SparkGradients(sc, spec, adapter);
    }
}
