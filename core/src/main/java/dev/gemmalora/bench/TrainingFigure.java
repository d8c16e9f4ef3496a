package dev.gemmalora.bench;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gemmalora.lora.LoraAdapter;
import dev.gemmalora.lora.LoraConfig;
import dev.gemmalora.lora.LoraInit;
import dev.gemmalora.model.Backprop;
import dev.gemmalora.model.CrossEntropy;
import dev.gemmalora.model.GemmaConfig;
import dev.gemmalora.model.GemmaModel;
import dev.gemmalora.train.AdamW;
import java.util.Arrays;

/** The "train" and "train_checkpointed" figures: a LoRA step (r 8 on the seven projections, AdamW) on random tokens. */
final class TrainingFigure {
    private TrainingFigure() {
    }

    static void measure(Figures figures, GemmaModel model, boolean checkpoint, String name) {
        Benchmark.Settings s = figures.settings;
        GemmaConfig c = model.config();
        LoraAdapter adapter = LoraInit.create(model, LoraConfig.of(8, 32, 0.1, false, LoraConfig.ALL_PROJECTIONS), 42);
        adapter.attach(model);
        AdamW opt = new AdamW(adapter.parameters(), 0.9, 0.999, 1e-8, 0.0);
        int[][] ids = RandomModel.randomIds(s.trainBatch(), s.seq(), c.vocabSize(), 7);
        int[][] mask = new int[ids.length][s.seq()];
        for (int[] m : mask) {
            Arrays.fill(m, 1);
        }
        int targets = CrossEntropy.targets(ids)[0].length;
        long[] step = {0};
        Backprop backprop = new Backprop(model);
        double sec;
        try {
            sec = figures.median(() -> Figures.seconds(() -> {
                adapter.zeroGrad();
                backprop.lossAndGrad(ids, mask, ids, 1.0 / targets, checkpoint, step[0]++);
                opt.update(adapter.gradients(), 1e-4);
            }));
        } finally {
            LoraAdapter.detach(model);
        }
        int tokens = s.trainBatch() * s.seq();
        double flops = 2 * (tokens * Figures.forwardFlops(c, s.seq(), false) + targets * 2.0 * c.vocabSize() * c.hidden());
        ObjectNode f = figures.figure(name, tokens / sec, "tokens_per_s", flops, sec);
        f.put("batch", s.trainBatch());
        f.put("seq", s.seq());
        f.put("step_seconds", sec);
        figures.out.put(name + "_peak_rss_bytes", Machine.peakRssBytes());
        figures.log.accept(String.format("%s (LoRA r 8, 7 projections, %d x %d): %.2f tokens/s, %.1f GFLOP/s (%.2f MFU), step %.1f s",
                name, s.trainBatch(), s.seq(), tokens / sec, f.get("gflops").asDouble(), f.get("mfu").asDouble(), sec));
    }
}
