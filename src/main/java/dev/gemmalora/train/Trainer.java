package dev.gemmalora.train;

import dev.gemmalora.data.TrainingExample;
import dev.gemmalora.lora.LoraAdapter;
import dev.gemmalora.model.Backprop;
import dev.gemmalora.model.Gemma2Model;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

/**
 * The optimisation loop of HF's Trainer for LoRA: a seeded reshuffle each epoch, micro-batches,
 * gradient accumulation with the loss normalised by the label tokens of the whole accumulation
 * window (as transformers >= 4.46 does), clipping of the global norm, linear decay after warmup,
 * AdamW.
 */
public final class Trainer {
    /** What each optimizer step reports. */
    public record StepLog(int step, int totalSteps, double loss, double lr, double gradNorm, long tokens) {
    }

    public interface Listener {
        void onStep(StepLog log);
    }

    private final Gemma2Model model;
    private final LoraAdapter adapter;
    private final TrainConfig cfg;
    private final AdamW optimizer;

    public Trainer(Gemma2Model model, LoraAdapter adapter, TrainConfig cfg) {
        this.model = model;
        this.adapter = adapter;
        this.cfg = cfg;
        this.optimizer = new AdamW(adapter.parameters(), cfg.beta1(), cfg.beta2(), cfg.eps(), cfg.weightDecay());
        adapter.attach(model);
    }

    public int totalSteps(int examples) {
        int perEpoch = Math.max(1, (int) Math.ceil(Math.ceil(examples / (double) cfg.batchSize()) / cfg.gradAccum()));
        return cfg.maxSteps() > 0 ? cfg.maxSteps() : perEpoch * cfg.epochs();
    }

    /** Linear warmup to lr, then linear decay to 0 at the last step (HF's "linear" schedule). */
    public static double learningRate(TrainConfig cfg, int step, int total) {
        if (step < cfg.warmupSteps()) {
            return cfg.lr() * step / Math.max(1, cfg.warmupSteps());
        }
        return cfg.lr() * Math.max(0.0, (double) (total - step) / Math.max(1, total - cfg.warmupSteps()));
    }

    /** Trains and returns the logged steps. */
    public List<StepLog> train(List<TrainingExample> data, int padId, Listener listener) {
        int total = totalSteps(data.size());
        List<StepLog> logs = new ArrayList<>();
        int step = 0;
        for (int epoch = 0; step < total; epoch++) {
            List<Integer> order = new ArrayList<>();
            for (int i = 0; i < data.size(); i++) {
                order.add(i);
            }
            Collections.shuffle(order, new Random(cfg.seed() + epoch));
            List<Batches.Batch> micro = new ArrayList<>();
            for (int s = 0; s < order.size(); s += cfg.batchSize()) {
                List<TrainingExample> ex = order.subList(s, Math.min(order.size(), s + cfg.batchSize())).stream().map(data::get).toList();
                micro.add(Batches.pad(ex, padId));
            }
            for (int s = 0; s < micro.size() && step < total; s += cfg.gradAccum()) {
                List<Batches.Batch> window = micro.subList(s, Math.min(micro.size(), s + cfg.gradAccum()));
                StepLog log = optimizerStep(window, step, total);
                step++;
                logs.add(log);
                if (listener != null) {
                    listener.onStep(log);
                }
            }
        }
        return logs;
    }

    private StepLog optimizerStep(List<Batches.Batch> window, int step, int total) {
        int targets = window.stream().mapToInt(Batches.Batch::targets).sum();
        adapter.zeroGrad();
        double lossSum = 0;
        long tokens = 0;
        for (int i = 0; i < window.size(); i++) {
            Batches.Batch b = window.get(i);
            Backprop.Loss loss = Backprop.lossAndGrad(model, b.ids(), b.mask(), b.labels(), 1.0 / targets,
                    cfg.gradientCheckpointing(), cfg.seed() * 1_000_003L + step * 64L + i);
            lossSum += loss.sum();
            tokens += (long) b.ids().length * b.ids()[0].length;
        }
        double loss = lossSum / targets;
        if (!Double.isFinite(loss)) {
            throw new IllegalStateException("loss became " + loss + " at step " + (step + 1) + "; stopping (lower --lr?)");
        }
        double norm = adapter.gradNorm();
        if (cfg.maxGradNorm() > 0 && norm > cfg.maxGradNorm()) {
            float c = (float) (cfg.maxGradNorm() / (norm + 1e-6));
            for (float[] g : adapter.gradients()) {
                for (int j = 0; j < g.length; j++) {
                    g[j] *= c;
                }
            }
        }
        double lr = learningRate(cfg, step, total);
        optimizer.update(adapter.gradients(), lr);
        return new StepLog(step + 1, total, loss, lr, norm, tokens);
    }
}
