package dev.gemmalora.api;

import dev.gemmalora.eval.TruthfulQaEval;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine;
import picocli.CommandLine.Option;

/**
 * Everything `gemma-lora eval truthfulqa` takes, with the same names and defaults: the CLI fills
 * these fields from its options, Java code sets them and calls {@link Evaluation#run}. model, data
 * and output have no default.
 */
public final class EvalOptions {
    @Option(names = "--model", required = true, paramLabel = "DIR", description = "Hugging Face Gemma checkpoint folder (Gemma 1, 2 or 3).")
    public Path model;

    @Option(names = "--tokenizer", paramLabel = "DIR", description = "Tokenizer folder (default: the model folder).")
    public Path tokenizer;

    @Option(names = "--adapter", paramLabel = "DIR", showDefaultValue = CommandLine.Help.Visibility.NEVER,
            description = "PEFT LoRA adapter folder; repeat to compare several. The base model is always scored.")
    public List<Path> adapters = new ArrayList<>();

    @Option(names = "--data", required = true, paramLabel = "PATH", description = "Folder with TruthfulQA.csv and/or mc_task.json, or one of those files.")
    public Path data;

    @Option(names = "--tasks", split = ",", paramLabel = "TASK", description = "Any of mc1, mc2, gen, binary (binary needs the 2025 files).")
    public List<String> tasks = new ArrayList<>(List.of("mc1", "mc2"));

    @Option(names = "--limit", description = "Score only the first N questions (-1: all).")
    public int limit = -1;

    @Option(names = "--output", required = true, paramLabel = "DIR", description = "Output folder (resumed if it holds the same evaluation).")
    public Path output;

    @Option(names = "--chat-template", description = "Wrap each prompt in the Gemma chat template (off: lm-eval's default, comparable with published numbers).")
    public boolean chatTemplate;

    @Option(names = "--batch", description = "Questions scored together, each with all its answer choices, and for gen decoded together"
            + " (bigger GEMMs, the weights read once a step for all; an interrupted run redoes at most one batch).")
    public int batch = TruthfulQaEval.DEFAULT_BATCH;

    /** The tokenizer folder: --tokenizer, or the model folder. */
    public Path tokenizerDir() {
        return tokenizer != null ? tokenizer : model;
    }
}
