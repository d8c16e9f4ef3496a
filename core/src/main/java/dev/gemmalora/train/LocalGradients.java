package dev.gemmalora.train;

import dev.gemmalora.lora.LoraAdapter;
import dev.gemmalora.model.GemmaModel;
import java.util.List;

/** The micro-batches of a step computed one after another in this process. */
public final class LocalGradients implements StepGradients {
    private final MicroBatchRunner runner;
    private final TrainConfig cfg;

    public LocalGradients(GemmaModel model, LoraAdapter adapter, TrainConfig cfg) {
        this.runner = new MicroBatchRunner(model, adapter);
        this.cfg = cfg;
    }

    @Override
    public GradientSum compute(int step, List<Batches.Batch> window, double gradScale) {
        GradientSum sum = new GradientSum(runner.adapter().parameters());
        for (int i = 0; i < window.size(); i++) {
            sum.add(runner.run(window.get(i), step, i, gradScale, cfg));
        }
        return sum;
    }
}
