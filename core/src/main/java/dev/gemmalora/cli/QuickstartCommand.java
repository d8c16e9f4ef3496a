package dev.gemmalora.cli;

import dev.gemmalora.io.InputException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.zip.GZIPInputStream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "quickstart", mixinStandardHelpOptions = true, showDefaultValues = true, sortOptions = false,
        description = {"Run the whole pipeline on the built-in example, with no download.",
                "Trains a LoRA adapter on 200 instruction records, scores base and adapter on a slice of TruthfulQA, writes the report.",
                "The built-in model is a tiny RANDOM Gemma-2 (real 256k tokenizer) that only shows the pipeline."})
final class QuickstartCommand implements Callable<Integer> {
    private static final String RESOURCES = "/dev/gemmalora/quickstart/";

    @Option(names = "--output", defaultValue = "quickstart-output", paramLabel = "DIR", description = "Folder for everything it writes (must not exist yet).")
    Path output;

    @Option(names = "--steps", defaultValue = "40", description = "Training steps.")
    int steps;

    @Option(names = "--questions", defaultValue = "60", description = "TruthfulQA questions scored per model.")
    int questions;

    @Override
    public Integer call() throws IOException {
        if (Files.exists(output)) {
            throw new InputException(output + ": already exists; remove it or pass --output with a new folder");
        }
        Path model = output.resolve("tiny-model");
        Path data = output.resolve("data");
        extract(model, List.of("config.json", "model.safetensors", "tokenizer_config.json"));
        extractGz(model.resolve("tokenizer.json"), "tokenizer.json.gz");
        extract(data, List.of("instructions.json", "INSTRUCTIONS_LICENSE"));
        extract(data.resolve("truthfulqa"), List.of("TruthfulQA.csv", "mc_task.json", "TRUTHFULQA_LICENSE"));
        System.out.println("""
                gemma-lora quickstart
                NOTE: the built-in model is a tiny RANDOM Gemma-2 (2 layers, hidden size 8, the real 256k Gemma
                tokenizer). It is here to show the pipeline end to end in a few minutes; its scores mean nothing.
                """);
        System.out.println("[1/2] train: LoRA on " + data.resolve("instructions.json") + " (200 gsm8k records, recipe format)");
        int code = Main.run("train", "--model", model.toString(), "--data", data.resolve("instructions.json").toString(),
                "--output", output.resolve("train").toString(), "--max-steps", String.valueOf(steps), "--batch-size", "4",
                "--grad-accum", "1", "--lr", "1e-2", "--max-length", "160", "--logging-steps", "5", "--save-steps", "20");
        if (code != 0) {
            return code;
        }
        System.out.println("\n[2/2] eval: TruthfulQA MC1/MC2 (lm-eval protocol), base model vs the adapter, " + questions + " questions");
        code = Main.run("eval", "truthfulqa", "--model", model.toString(), "--adapter", output.resolve("train/final").toString(),
                "--data", data.resolve("truthfulqa").toString(), "--tasks", "mc1,mc2", "--limit", String.valueOf(questions),
                "--output", output.resolve("eval").toString());
        if (code != 0) {
            return code;
        }
        System.out.println("""

                done. What was written:
                  %1$s/tiny-model            the built-in checkpoint and tokenizer (Hugging Face layout)
                  %1$s/train/final           the LoRA adapter, in PEFT's format (PeftModel.from_pretrained loads it)
                  %1$s/train/metrics.jsonl   loss, learning rate, grad norm, tokens/s per logged step
                  %1$s/train/loss_curve.png  the training loss
                  %1$s/eval/report.html      base vs adapter, overall and per category (also report.md)

                The same on the real model (about 5 GB download; see README for time and memory):
                  ./gemma-lora download model google/gemma-2-2b-it --output models/gemma-2-2b-it
                  ./gemma-lora download alpaca --output data
                  ./gemma-lora download truthfulqa --output data/truthfulqa
                  ./gemma-lora train --model models/gemma-2-2b-it --data data/alpaca_data_cleaned.json --output runs/alpaca
                  ./gemma-lora eval truthfulqa --model models/gemma-2-2b-it --adapter runs/alpaca/final --data data/truthfulqa/v0 --output runs/eval
                """.formatted(output));
        return 0;
    }

    private static void extract(Path dir, List<String> names) throws IOException {
        Files.createDirectories(dir);
        for (String n : names) {
            try (InputStream in = resource(n)) {
                Files.copy(in, dir.resolve(n));
            }
        }
    }

    private static void extractGz(Path target, String name) throws IOException {
        try (InputStream in = new GZIPInputStream(resource(name))) {
            Files.copy(in, target);
        }
    }

    private static InputStream resource(String name) throws IOException {
        InputStream in = QuickstartCommand.class.getResourceAsStream(RESOURCES + name);
        if (in == null) {
            throw new IOException("built-in example file " + name + " is missing from the jar; rebuild with mvn package");
        }
        return in;
    }
}
