package dev.gemmalora.cli;

import dev.gemmalora.io.CheckpointTensors;
import dev.gemmalora.io.TensorData;
import dev.gemmalora.model.GemmaConfig;
import dev.gemmalora.model.GemmaModel;
import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "inspect", mixinStandardHelpOptions = true, showDefaultValues = true,
        description = "Print a checkpoint's config, parameter count, dtypes and tensor shapes.")
final class InspectCommand implements Callable<Integer> {
    @Mixin
    ModelOptions models;

    @Option(names = "--tensors", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "List every tensor with its dtype and shape.")
    boolean tensors;

    @Override
    public Integer call() {
        GemmaConfig cfg = GemmaConfig.load(models.model);
        CheckpointTensors ck = CheckpointTensors.open(models.model);
        GemmaModel m = GemmaModel.fromTensors(cfg, ck.all(), models.model.toString());
        System.out.println("model: " + models.model.toAbsolutePath());
        System.out.println("config:");
        cfg.describe().forEach((k, v) -> System.out.printf("  %-34s %s%n", k, v));
        Map<String, Long> byDtype = new TreeMap<>();
        long bytes = 0;
        for (TensorData t : ck.all().values()) {
            byDtype.merge(t.dtype().name(), t.numel(), Long::sum);
            bytes += t.data().byteSize();
        }
        System.out.printf("parameters: %,d (%.2f B)%n", m.parameterCount(), m.parameterCount() / 1e9);
        System.out.println("dtypes: " + byDtype + " elements; " + String.format("%,d", bytes) + " bytes mapped");
        if (tensors) {
            System.out.println("tensors:");
            ck.all().values().stream().sorted((a, b) -> a.name().compareTo(b.name())).forEach(t ->
                    System.out.printf("  %-60s %-5s %s%n", t.name(), t.dtype(), Arrays.toString(t.shape())));
        }
        return 0;
    }
}
