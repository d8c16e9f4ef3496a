package dev.gemmalora.cli;

import java.nio.file.Path;
import picocli.CommandLine.Option;

/** --model and --tokenizer, the same on every command that loads a checkpoint. */
public final class ModelOptions {
    @Option(names = "--model", required = true, paramLabel = "DIR", description = "Hugging Face Gemma checkpoint folder (Gemma 1, 2 or 3).")
    public Path model;

    @Option(names = "--tokenizer", paramLabel = "DIR", description = "Tokenizer folder (default: the model folder).")
    public Path tokenizer;

    public Path tokenizerDir() {
        return tokenizer != null ? tokenizer : model;
    }
}
