package dev.gemmalora.cli;

import dev.gemmalora.gguf.Gemma2Gguf;
import dev.gemmalora.gguf.GgmlType;
import dev.gemmalora.gguf.GgufWriter;
import dev.gemmalora.gguf.OllamaModelfile;
import dev.gemmalora.lora.LoraAdapter;
import dev.gemmalora.model.GemmaModel;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "gguf", mixinStandardHelpOptions = true, showDefaultValues = true, sortOptions = false,
        description = {"Write the model, or the model with a LoRA adapter merged, as one GGUF file for llama.cpp,"
                + " Ollama or LM Studio (llama.cpp architecture gemma2), and an Ollama Modelfile beside it (FILE.Modelfile)."})
final class ExportGgufCommand implements Callable<Integer> {
    @Mixin
    ModelOptions models;

    @Mixin
    GgufOutput out;

    @Option(names = "--adapter", paramLabel = "DIR", description = "PEFT LoRA adapter folder to merge in (as `merge` does).")
    Path adapter;

    @Option(names = "--type", defaultValue = "f16", paramLabel = "TYPE",
            description = "Matrix type: f32, f16, bf16 or q8_0 (8-bit blocks of 32, llama.cpp's Q8_0). Norms stay f32.")
    String type;


    @Override
    public Integer call() {
        GgmlType t = GgmlType.parse(type, "--type");
        out.checkWritable();
        LoraAdapter lora = adapter == null ? null : LoraAdapter.load(adapter, GemmaModel.load(models.model));
        String name = models.model.toAbsolutePath().normalize().getFileName().toString();
        GgufWriter w = Gemma2Gguf.model(models.model, models.tokenizerDir(), lora, t, name);
        out.write(w, OllamaModelfile::forModel);
        System.out.printf("wrote %s (%s, %s%s) and %s%n", out.output, t.optionName(), GgufOutput.size(w.size()),
                lora == null ? "" : ", " + lora.pairs().size() + " LoRA pairs of " + adapter + " merged", OllamaModelfile.beside(out.output));
        System.out.printf("run it: llama-cli -m %s   or   ollama create %s -f %s && ollama run %s%n", out.output,
                ollamaName(out.output), OllamaModelfile.beside(out.output), ollamaName(out.output));
        return 0;
    }

    /** A model name Ollama accepts, from the file's name. */
    static String ollamaName(Path gguf) {
        String n = gguf.getFileName().toString().replaceFirst("\\.gguf$", "").toLowerCase(Locale.ROOT);
        return n.replaceAll("[^a-z0-9._-]", "-");
    }
}
