package dev.gemmalora.cli;

import dev.gemmalora.eval.Generator;
import dev.gemmalora.eval.Sampler;
import dev.gemmalora.lora.LoraAdapter;
import dev.gemmalora.model.Gemma2Model;
import dev.gemmalora.tokenizer.HfTokenizer;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** Model, adapter and sampling options shared by chat and generate. */
final class GenerationOptions {
    @Mixin
    ModelOptions models;

    @Option(names = "--adapter", paramLabel = "DIR", description = "PEFT LoRA adapter to apply (optional).")
    Path adapter;

    @Option(names = "--max-new-tokens", defaultValue = "256", description = "Most tokens generated per answer.")
    int maxNewTokens;

    @Option(names = "--temperature", defaultValue = "0.7", description = "Sampling temperature (0: greedy).")
    double temperature;

    @Option(names = "--top-k", defaultValue = "50", description = "Sample among the k most likely tokens (0: all).")
    int topK;

    @Option(names = "--top-p", defaultValue = "0.95", description = "Nucleus: the smallest set with this much probability.")
    double topP;

    @Option(names = "--seed", defaultValue = "42", description = "Sampling seed (generate: the first prompt's; each next prompt's is one more).")
    long seed;

    Gemma2Model loadModel() {
        Gemma2Model m = Gemma2Model.load(models.model);
        if (adapter != null) {
            LoraAdapter.load(adapter, m).attach(m);
        }
        return m;
    }

    HfTokenizer loadTokenizer() {
        return HfTokenizer.load(models.tokenizerDir());
    }

    Generator.Picker picker() {
        return picker(0);
    }

    /** The picker of a file's prompt `index` (from 0): its own seed, so its completion does not depend on the others. */
    Generator.Picker picker(int index) {
        return new Sampler(temperature, topK, topP, seed + index);
    }

    /** <eos> and <end_of_turn>. */
    static Set<Integer> stopIds(HfTokenizer tok) {
        Set<Integer> s = new HashSet<>();
        for (String t : List.of("<eos>", "<end_of_turn>")) {
            if (tok.tokenId(t) >= 0) {
                s.add(tok.tokenId(t));
            }
        }
        return s;
    }
}
