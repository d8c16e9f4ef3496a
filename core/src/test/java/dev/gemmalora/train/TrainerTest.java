package dev.gemmalora.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gemmalora.GoldenPaths;
import dev.gemmalora.data.AlpacaReader;
import dev.gemmalora.data.PromptFormat;
import dev.gemmalora.data.TrainingExample;
import dev.gemmalora.lora.LoraAdapter;
import dev.gemmalora.lora.LoraConfig;
import dev.gemmalora.lora.LoraInit;
import dev.gemmalora.model.GemmaModel;
import dev.gemmalora.tokenizer.HfTokenizer;
import java.util.List;
import org.junit.jupiter.api.Test;

class TrainerTest {
    @Test
    void linearScheduleWarmsUpThenDecaysToZero() {
        TrainConfig c = new TrainConfig(1, 10, 4, 1, 1e-3, 2, 1.0, 1, 100, 0, false, 0.9, 0.999, 1e-8, 0);
        assertEquals(0.0, Trainer.learningRate(c, 0, 10));
        assertEquals(5e-4, Trainer.learningRate(c, 1, 10), 1e-12);
        assertEquals(1e-3, Trainer.learningRate(c, 2, 10), 1e-12);
        assertEquals(1e-3 * 4 / 8, Trainer.learningRate(c, 6, 10), 1e-12);
        assertEquals(1.25e-4, Trainer.learningRate(c, 9, 10), 1e-12);
    }

    /** Real instruction records, the real tokenizer and the t3 checkpoint: the loss must go down. */
    @Test
    void trainingLossGoesDownOnRealInstructions() {
        GemmaModel model = GemmaModel.load(GoldenPaths.mc().resolve("model"));
        List<TrainingExample> data;
        try (HfTokenizer tok = HfTokenizer.load(GoldenPaths.tokenizer())) {
            data = AlpacaReader.read(GoldenPaths.shared().resolve("data/instructions/gsm8k_train.alpaca.json"))
                    .subList(0, 8).stream().map(r -> PromptFormat.RECIPE.encode(tok, r, 128, 0)).toList();
        }
        LoraAdapter adapter = LoraInit.create(model, LoraConfig.of(8, 32, 0.1, false, LoraConfig.ALL_PROJECTIONS), 42);
        TrainConfig cfg = new TrainConfig(100, 12, 4, 2, 2e-2, 0, 1.0, 1, 100, 42, true, 0.9, 0.999, 1e-8, 0);
        List<Trainer.StepLog> logs = new Trainer(model, adapter, cfg).train(data, 0, null);
        assertEquals(12, logs.size());
        double first = logs.get(0).loss();
        double last = logs.get(logs.size() - 1).loss();
        assertTrue(last < first - 0.5, "loss should fall: first " + first + ", last " + last);
    }
}
