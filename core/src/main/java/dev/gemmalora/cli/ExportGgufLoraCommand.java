package dev.gemmalora.cli;

import dev.gemmalora.gguf.Gemma2Gguf;
import dev.gemmalora.gguf.GgufWriter;
import dev.gemmalora.gguf.OllamaModelfile;
import dev.gemmalora.lora.LoraAdapter;
import dev.gemmalora.model.GemmaModel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "gguf-lora", mixinStandardHelpOptions = true, showDefaultValues = true, sortOptions = false,
        description = {"Write a LoRA adapter alone as a GGUF LoRA (llama.cpp --lora, Ollama ADAPTER), and an Ollama"
                + " Modelfile beside it (FILE.Modelfile) with the base GGUF as FROM."})
final class ExportGgufLoraCommand implements Callable<Integer> {
    @Mixin
    ModelOptions models;

    @Mixin
    GgufOutput out;

    @Option(names = "--adapter", required = true, paramLabel = "DIR", description = "PEFT LoRA adapter folder.")
    Path adapter;

    @Option(names = "--base-gguf", paramLabel = "FILE.gguf",
            description = "The base model's GGUF (from `export gguf`) for the Modelfile's FROM (default: MODEL-FOLDER-NAME.gguf beside --output).")
    Path baseGguf;


    @Override
    public Integer call() {
        out.checkWritable();
        LoraAdapter lora = LoraAdapter.load(adapter, GemmaModel.load(models.model));
        String name = models.model.toAbsolutePath().normalize().getFileName().toString();
        Path base = baseGguf != null ? baseGguf : out.output.resolveSibling(name + ".gguf");
        GgufWriter w = Gemma2Gguf.adapter(models.model, lora, adapter.toAbsolutePath().normalize().getFileName().toString());
        out.write(w, (mf, gguf) -> OllamaModelfile.forAdapter(mf, base, gguf));
        System.out.printf("wrote %s (%d LoRA pairs, f32, %s) and %s%n", out.output, lora.pairs().size(), GgufOutput.size(w.size()),
                OllamaModelfile.beside(out.output));
        if (!Files.exists(base)) {
            System.out.printf("the Modelfile's FROM is %s, not written yet: gemma-lora export gguf --model %s --output %s%n",
                    base, models.model, base);
        }
        System.out.printf("run it: llama-cli -m %s --lora %s   or   ollama create %s -f %s%n", base, out.output,
                ExportGgufCommand.ollamaName(out.output), OllamaModelfile.beside(out.output));
        return 0;
    }
}
