package dev.gemmalora.train;

import dev.gemmalora.lora.LoraAdapter;
import dev.gemmalora.model.Backprop;
import dev.gemmalora.model.GemmaModel;

/**
 * Computes one micro-batch's loss and LoRA gradients on a model with the adapter attached. The
 * same code runs in train and on every cluster worker, so a micro-batch's gradient has the same
 * bits wherever it is computed (the kernels give the same bits for any thread count).
 */
public final class MicroBatchRunner {
    private final GemmaModel model;
    private final LoraAdapter adapter;
    private final Backprop backprop;

    public MicroBatchRunner(GemmaModel model, LoraAdapter adapter) {
        this.adapter = adapter;
        this.model = model;
        this.backprop = new Backprop(model);
    }

    public LoraAdapter adapter() {
        return adapter;
    }

    /**
     * Micro-batch `index` of optimizer step `step`: the gradient of gradScale * its summed loss, in
     * the adapter's own gradient buffers (valid until the next run; copy it to keep it).
     */
    public MicroBatchGradient run(Batches.Batch batch, int step, int index, double gradScale, TrainConfig cfg) {
        // Attached on every run: the model may be shared (an evaluation or a second runner in the same JVM).
        adapter.attach(model);
        adapter.zeroGrad();
        Backprop.Loss loss = backprop.lossAndGrad(batch.ids(), batch.mask(), batch.labels(), gradScale,
                cfg.gradientCheckpointing(), cfg.dropoutSeed(step, index));
        return new MicroBatchGradient(index, loss.sum(), batch.tokens(), adapter.gradients().toArray(new float[0][]));
    }
}
