package dev.gemmalora.api;

import dev.gemmalora.io.InputException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Option;

/**
 * Everything `gemma-lora train` takes, with the same names and defaults (the reference recipe's):
 * the CLI fills these fields from its options, Java code sets them and calls {@link Training#run}.
 * model, data and output have no default.
 */
public final class TrainOptions {
    @Option(names = "--model", required = true, paramLabel = "DIR", description = "Hugging Face Gemma checkpoint folder (Gemma 1, 2 or 3).")
    public Path model;

    @Option(names = "--tokenizer", paramLabel = "DIR", description = "Tokenizer folder (default: the model folder).")
    public Path tokenizer;

    @Option(names = "--data", required = true, paramLabel = "FILE", description = "Alpaca records: JSON array or JSON Lines with instruction, input, output.")
    public Path data;

    @Option(names = "--output", required = true, paramLabel = "DIR", description = "Output folder.")
    public Path output;

    @Option(names = "--format", paramLabel = "recipe|chat",
            description = "Prompt format: the reference recipe's turn format, or the tokenizer's chat template with instruction and input joined by a blank line.")
    public String format = "recipe";

    @Option(names = "--epochs", description = "Passes over the data.")
    public int epochs = 3;

    @Option(names = "--max-steps", description = "Stop after this many optimizer steps (overrides --epochs when > 0).")
    public int maxSteps = -1;

    @Option(names = "--batch-size", description = "Examples per micro-batch.")
    public int batchSize = 4;

    @Option(names = "--grad-accum", description = "Micro-batches per optimizer step.")
    public int gradAccum = 4;

    @Option(names = "--lr", description = "Peak learning rate (AdamW).")
    public double lr = 1e-4;

    @Option(names = "--warmup-steps", description = "Linear warmup steps before the linear decay.")
    public int warmupSteps = 0;

    @Option(names = "--max-grad-norm", description = "Clip the global gradient norm to this (0: no clipping).")
    public double maxGradNorm = 1.0;

    @Option(names = "--weight-decay", description = "AdamW decoupled weight decay.")
    public double weightDecay = 0.0;

    @Option(names = "--save-steps", description = "Write checkpoint-N every this many steps (0: never).")
    public int saveSteps = 100;

    @Option(names = "--logging-steps", description = "Append to metrics.jsonl every this many steps.")
    public int loggingSteps = 10;

    @Option(names = "--max-length", description = "Cut each example to this many tokens.")
    public int maxLength = 384;

    @Option(names = "--max-samples", description = "Use only the first N records (-1: all).")
    public int maxSamples = -1;

    @Option(names = "--seed", description = "Seed of LoRA init, shuffling and dropout.")
    public long seed = 42;

    @Option(names = "--lora-r", description = "LoRA rank.")
    public int loraR = 8;

    @Option(names = "--lora-alpha", description = "LoRA alpha (scale alpha/r, or alpha/sqrt(r) with --rslora).")
    public double loraAlpha = 32;

    @Option(names = "--lora-dropout", description = "Dropout on the LoRA input.")
    public double loraDropout = 0.1;

    @Option(names = "--target-modules", split = ",", description = "Projections that get a LoRA pair.")
    public List<String> targetModules = new ArrayList<>(List.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj",
            "down_proj"));

    @Option(names = "--rslora", description = "Rank-stabilised scaling alpha/sqrt(r).")
    public boolean rslora;

    @Option(names = "--gradient-checkpointing", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "Recompute each layer in the backward pass instead of keeping its activations.")
    public boolean gradientCheckpointing = true;

    @Option(names = "--resume", description = "Continue from the newest complete checkpoint in --output.")
    public boolean resume;

    /** The tokenizer folder: --tokenizer, or the model folder. */
    public Path tokenizerDir() {
        return tokenizer != null ? tokenizer : model;
    }

    /** Checks what can be checked before any file is read; an InputException names the option. */
    void validate() {
        if (model == null || data == null || output == null) {
            throw new InputException("--model, --data and --output are required");
        }
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
}
