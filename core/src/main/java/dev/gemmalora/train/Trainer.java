package dev.gemmalora.train;

import dev.gemmalora.data.TrainingExample;
import dev.gemmalora.lora.Gradients;
import dev.gemmalora.lora.LoraAdapter;
import dev.gemmalora.model.GemmaModel;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

/**
 * The optimisation loop of HF's Trainer for LoRA: a seeded reshuffle each epoch, micro-batches,
 * gradient accumulation with the loss normalised by the label tokens of the whole accumulation
 * window (as transformers >= 4.46 does), clipping of the global norm, linear decay after warmup,
 * AdamW. Every random choice is a function of the seed, the epoch and the step, so a run resumed
 * from a checkpoint continues exactly as the uninterrupted run would.
 */
public final class Trainer {
    /** What each optimizer step reports; tokens counts the real tokens (padding is not computed). */
    public record StepLog(int step, int totalSteps, double epoch, double loss, double lr, double gradNorm, long tokens,
                          double seconds) {
    }

    public interface Listener {
        void onStep(StepLog log);

        /** Asked after each step: true ends training there (a stop request); the caller sees step() short of the total. */
        default boolean stopRequested() {
            return false;
        }
    }

    private final LoraAdapter adapter;
    private final TrainConfig cfg;
    private final AdamW optimizer;
    private final StepGradients gradients;
    private int step;

    /** Trains the adapter attached to model, computing every micro-batch in this process. */
    public Trainer(GemmaModel model, LoraAdapter adapter, TrainConfig cfg) {
        this(adapter, cfg, new LocalGradients(model, adapter, cfg));
    }

    /** Trains adapter with the micro-batch gradients computed by gradients (e.g. on a cluster). */
    public Trainer(LoraAdapter adapter, TrainConfig cfg, StepGradients gradients) {
        this.adapter = adapter;
        this.cfg = cfg;
        this.optimizer = new AdamW(adapter.parameters(), cfg.beta1(), cfg.beta2(), cfg.eps(), cfg.weightDecay());
        this.gradients = gradients;
    }

    /** Workers computing micro-batches. */
    public int workers() {
        return gradients.workers();
    }

    public LoraAdapter adapter() {
        return adapter;
    }

    public AdamW optimizer() {
        return optimizer;
    }

    public TrainConfig config() {
        return cfg;
    }

    /** Optimizer steps done. */
    public int step() {
        return step;
    }

    /** Continues after a restored checkpoint: the adapter and optimizer state must already be loaded. */
    public void resumeAt(int doneSteps) {
        this.step = doneSteps;
        optimizer.setStep(doneSteps);
    }

    public int stepsPerEpoch(int examples) {
        return Math.max(1, (int) Math.ceil(Math.ceil(examples / (double) cfg.batchSize()) / cfg.gradAccum()));
    }

    public int totalSteps(int examples) {
        return cfg.maxSteps() > 0 ? cfg.maxSteps() : stepsPerEpoch(examples) * cfg.epochs();
    }

    /** Linear warmup to lr, then linear decay to 0 at the last step (HF's "linear" schedule). */
    public static double learningRate(TrainConfig cfg, int step, int total) {
        if (step < cfg.warmupSteps()) {
            return cfg.lr() * step / Math.max(1, cfg.warmupSteps());
        }
        return cfg.lr() * Math.max(0.0, (double) (total - step) / Math.max(1, total - cfg.warmupSteps()));
    }

    /** The example order of an epoch: a shuffle seeded by seed + epoch. */
    public List<Integer> order(int examples, int epoch) {
        List<Integer> order = new ArrayList<>(examples);
        for (int i = 0; i < examples; i++) {
            order.add(i);
        }
        Collections.shuffle(order, new Random(cfg.seed() + epoch));
        return order;
    }

    /** Trains from the current step to the last one and returns the steps done here. */
    public List<StepLog> train(List<TrainingExample> data, int padId, Listener listener) {
        int total = totalSteps(data.size());
        int perEpoch = stepsPerEpoch(data.size());
        List<StepLog> logs = new ArrayList<>();
        int cachedEpoch = -1;
        List<Integer> order = List.of();
        while (step < total) {
            int epoch = step / perEpoch;
            if (epoch != cachedEpoch) {
                order = order(data.size(), epoch);
                cachedEpoch = epoch;
            }
            int first = (step % perEpoch) * cfg.gradAccum() * cfg.batchSize();
            List<Batches.Batch> window = new ArrayList<>();
            for (int m = 0; m < cfg.gradAccum() && first + m * cfg.batchSize() < order.size(); m++) {
                int s = first + m * cfg.batchSize();
                List<TrainingExample> ex = order.subList(s, Math.min(order.size(), s + cfg.batchSize())).stream().map(data::get).toList();
                window.add(Batches.pad(ex, padId));
            }
            long t0 = System.nanoTime();
            StepLog log = optimizerStep(window, total, perEpoch, t0);
            step++;
            logs.add(log);
            if (listener != null) {
                listener.onStep(log);
                if (listener.stopRequested()) {
                    break;
                }
            }
        }
        return logs;
    }

    private StepLog optimizerStep(List<Batches.Batch> window, int total, int perEpoch, long t0) {
        int targets = window.stream().mapToInt(Batches.Batch::targets).sum();
        GradientSum sum = gradients.compute(step, window, 1.0 / Math.max(1, targets));
        double loss = sum.lossSum() / Math.max(1, targets);
        if (!Double.isFinite(loss)) {
            throw new DivergedException(step + 1, loss);
        }
        double norm = sum.norm();
        Gradients.clip(sum.grads(), norm, cfg.maxGradNorm());
        double lr = learningRate(cfg, step, total);
        optimizer.update(List.of(sum.grads()), lr);
        return new StepLog(step + 1, total, (step + 1) / (double) perEpoch, loss, lr, norm, sum.tokens(),
                (System.nanoTime() - t0) / 1e9);
    }
}
