package dev.gemmalora.cli;

import dev.gemmalora.io.AtomicDir;
import dev.gemmalora.io.CheckpointTensors;
import dev.gemmalora.io.CheckpointWriter;
import dev.gemmalora.io.InputException;
import dev.gemmalora.io.OutputException;
import dev.gemmalora.io.OutputLock;
import dev.gemmalora.io.TensorData;
import dev.gemmalora.lora.LoraAdapter;
import dev.gemmalora.lora.LoraMerge;
import dev.gemmalora.model.GemmaModel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "merge", mixinStandardHelpOptions = true, showDefaultValues = true, sortOptions = false,
        description = "Fold a LoRA adapter into the base weights and write a full Hugging Face checkpoint (base dtype, config and tokenizer copied).")
final class MergeCommand implements Callable<Integer> {
    private static final List<String> MODEL_FILES = List.of("config.json", "generation_config.json");
    private static final List<String> TOKENIZER_FILES = List.of("tokenizer.json", "tokenizer_config.json",
            "special_tokens_map.json", "tokenizer.model", "chat_template.jinja", "chat_template.json");

    @Mixin
    ModelOptions models;

    @Option(names = "--adapter", required = true, paramLabel = "DIR", description = "PEFT LoRA adapter folder.")
    Path adapter;

    @Option(names = "--output", required = true, paramLabel = "DIR", description = "Folder for the merged checkpoint (must not exist or be empty).")
    Path output;

    @Option(names = "--max-shard-size", defaultValue = "5GB", paramLabel = "SIZE",
            description = "Largest weight file before sharding, as transformers' max_shard_size (e.g. 5GB, 500MB).")
    String maxShardSize;

    @Override
    public Integer call() throws IOException {
        long shardBytes = parseSize(maxShardSize);
        try (OutputLock _ = OutputLock.beside(output, "merge")) {
            return merge(shardBytes);
        }
    }

    private int merge(long shardBytes) throws IOException {
        if (Files.isDirectory(output)) {
            try (var s = Files.list(output)) {
                if (s.findAny().isPresent()) {
                    throw new InputException(output + ": folder exists and is not empty; choose a new --output so nothing is overwritten");
                }
            }
        }
        GemmaModel base = GemmaModel.load(models.model);
        LoraAdapter lora = LoraAdapter.load(adapter, base);
        List<TensorData> tensors = new ArrayList<>(CheckpointTensors.open(models.model).all().values());
        tensors.sort(Comparator.comparing(TensorData::name));
        Path tokDir = models.tokenizerDir();
        try {
            AtomicDir.write(output, dir -> {
                CheckpointWriter.write(dir, tensors, shardBytes, t -> LoraMerge.mergeOne(t, lora));
                copyIfPresent(models.model, dir, MODEL_FILES);
                copyIfPresent(tokDir, dir, TOKENIZER_FILES);
            });
        } catch (IOException e) {
            long bytes = tensors.stream().mapToLong(t -> t.data().byteSize()).sum();
            throw OutputException.of(output, bytes, e).withAdvice("nothing was written under " + output
                    + ": free some space and run the same command");
        }
        System.out.printf("merged %d LoRA pairs of %s into %s (%s)%n", lora.pairs().size(), adapter, output,
                Files.exists(output.resolve(CheckpointTensors.INDEX)) ? "sharded" : "model.safetensors");
        return 0;
    }

    private static void copyIfPresent(Path from, Path to, List<String> names) throws IOException {
        for (String n : names) {
            if (Files.isRegularFile(from.resolve(n))) {
                Files.copy(from.resolve(n), to.resolve(n));
            }
        }
    }

    /** "5GB" = 5e9 bytes, "500MB", "10KB", or a plain byte count (transformers' decimal units). */
    static long parseSize(String s) {
        String u = s.strip().toUpperCase(Locale.ROOT);
        long mult = 1;
        for (String[] unit : new String[][] {{"GB", "1000000000"}, {"MB", "1000000"}, {"KB", "1000"}, {"B", "1"}}) {
            if (u.endsWith(unit[0])) {
                mult = Long.parseLong(unit[1]);
                u = u.substring(0, u.length() - unit[0].length()).strip();
                break;
            }
        }
        try {
            long v = (long) (Double.parseDouble(u) * mult);
            if (v <= 0) {
                throw new NumberFormatException();
            }
            return v;
        } catch (NumberFormatException e) {
            throw new InputException("--max-shard-size is '" + s + "', expected a size such as 5GB or 500MB");
        }
    }
}
