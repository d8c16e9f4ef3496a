package dev.gemmalora.cli;

import dev.gemmalora.GoldenPaths;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The train command line the process tests share: the t3 model, real gsm8k records, steps of 2 x 2. */
final class TrainArgs {
    private TrainArgs() {
    }

    static List<String> of(Path out, int maxSteps, int saveSteps) {
        return new ArrayList<>(List.of("train", "--model", GoldenPaths.mc().resolve("model").toString(),
                "--tokenizer", GoldenPaths.tokenizer().toString(),
                "--data", GoldenPaths.shared().resolve("data/instructions/gsm8k_train.alpaca.json").toString(), "--output", out.toString(),
                "--max-samples", "48", "--max-length", "96", "--batch-size", "2", "--grad-accum", "2",
                "--max-steps", Integer.toString(maxSteps), "--logging-steps", "1", "--save-steps", Integer.toString(saveSteps)));
    }
}
