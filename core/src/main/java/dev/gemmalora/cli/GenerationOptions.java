package dev.gemmalora.cli;

import dev.gemmalora.api.LanguageModel;
import dev.gemmalora.api.SamplingParams;
import java.nio.file.Path;
import java.util.List;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** Model, adapter and sampling options shared by chat and generate. */
final class GenerationOptions {
    /** The name the adapter (if any) is loaded under. */
    static final String ADAPTER = "adapter";

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

    /** The model (and adapter) through the Java API, decoding up to maxBatch answers together. */
    LanguageModel load(int maxBatch, int maxQueue) {
        LanguageModel m = LanguageModel.load(models.model, models.tokenizerDir(), new LanguageModel.Options(maxBatch, maxQueue));
        if (adapter != null) {
            m.addAdapter(ADAPTER, adapter);
        }
        return m;
    }

    /** The adapter's name in the loaded model, or null for the base model. */
    String adapterName() {
        return adapter == null ? null : ADAPTER;
    }

    /** Sampling of answer `index` (from 0): its own seed, so its text does not depend on the others. */
    SamplingParams params(int index) {
        return new SamplingParams(maxNewTokens, temperature, topP, topK, seed + index, List.of());
    }
}
