package dev.gemmalora.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.gemmalora.GoldenPaths;
import dev.gemmalora.data.AlpacaReader;
import dev.gemmalora.data.PromptFormat;
import dev.gemmalora.data.TrainingExample;
import dev.gemmalora.lora.LoraConfig;
import dev.gemmalora.lora.LoraInit;
import dev.gemmalora.model.GemmaModel;
import dev.gemmalora.tensor.Parallel;
import dev.gemmalora.tokenizer.HfTokenizer;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A micro-batch's gradient is the same bits on every worker: cluster nodes differ in core count,
 * so the engine's thread count must not change it.
 */
class MicroBatchRunnerTest {
    @Test
    void theGradientDoesNotDependOnTheThreadCount() {
        GemmaModel model = GemmaModel.load(GoldenPaths.mc().resolve("model"));
        List<TrainingExample> data;
        try (HfTokenizer tok = HfTokenizer.load(GoldenPaths.tokenizer())) {
            data = AlpacaReader.read(GoldenPaths.shared().resolve("data/instructions/gsm8k_train.alpaca.json"))
                    .subList(0, 3).stream().map(r -> PromptFormat.RECIPE.encode(tok, r, 160, 0)).toList();
        }
        Batches.Batch batch = Batches.pad(data, 0);
        TrainConfig cfg = TrainConfig.recipe();
        MicroBatchRunner runner = new MicroBatchRunner(model,
                LoraInit.create(model, LoraConfig.of(8, 32, 0.1, false, LoraConfig.ALL_PROJECTIONS), 42));
        int before = Parallel.threads();
        try {
            Parallel.setThreads(1);
            MicroBatchGradient one = runner.run(batch, 3, 1, 1e-3, cfg).copy();
            Parallel.setThreads(3);
            MicroBatchGradient three = runner.run(batch, 3, 1, 1e-3, cfg).copy();
            assertEquals(one.lossSum(), three.lossSum());
            for (int i = 0; i < one.grads().length; i++) {
                assertArrayEquals(one.grads()[i], three.grads()[i], "gradient tensor " + i);
            }
        } finally {
            Parallel.setThreads(before);
        }
    }

    @Test
    void aSumTakesMicroBatchesOnlyInOrder() {
        GradientSum sum = new GradientSum(List.of(new float[2]));
        sum.add(new MicroBatchGradient(0, 1.5, 3, new float[][] {{1f, 2f}}));
        assertThrows(IllegalStateException.class, () -> sum.add(new MicroBatchGradient(2, 1, 1, new float[][] {{1f, 1f}})));
        sum.add(new MicroBatchGradient(1, 0.5, 2, new float[][] {{0.25f, -2f}}));
        assertArrayEquals(new float[] {1.25f, 0f}, sum.grads()[0]);
        assertEquals(2.0, sum.lossSum());
        assertEquals(5, sum.tokens());
    }
}
