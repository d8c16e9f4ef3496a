package dev.gemmalora.spark;

import dev.gemmalora.lora.LoraAdapter;
import dev.gemmalora.train.Batches;
import dev.gemmalora.train.GradientSum;
import dev.gemmalora.train.StepGradients;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;

/**
 * An optimizer step's micro-batches as one Spark job, one task each: the adapter's weights go out
 * as a broadcast, each executor computes its micro-batches with the engine, and the gradients come
 * back and are summed here in micro-batch order, as train sums them. A failed task is rerun by
 * Spark from the same broadcast, so retries and the executor count leave the sum unchanged.
 */
final class SparkGradients implements StepGradients {
    private final JavaSparkContext sc;
    private final TrainSpec spec;
    private final LoraAdapter adapter;
    private Broadcast<LoraWeights> weights;
    private StepCost lastCost;

    SparkGradients(JavaSparkContext sc, TrainSpec spec, LoraAdapter adapter) {
        this.sc = sc;
        this.spec = spec;
        this.adapter = adapter;
    }

    @Override
    public GradientSum compute(int step, List<Batches.Batch> window, double gradScale) {
        if (weights != null) {
            weights.destroy();
        }
        weights = sc.broadcast(LoraWeights.of(step, adapter.parameters()));
        List<TrainTask> tasks = new ArrayList<>();
        for (int i = 0; i < window.size(); i++) {
            tasks.add(new TrainTask(step, i, window.get(i), gradScale));
        }
        Broadcast<LoraWeights> w = weights;
        TrainSpec s = spec;
        List<TaskGradient> results = new ArrayList<>(sc.parallelize(tasks, tasks.size())
                .map(t -> ExecutorState.train(s, w.value(), t)).collect());
        results.sort(Comparator.comparingInt(r -> r.gradient().index()));
        GradientSum sum = new GradientSum(adapter.parameters());
        Set<String> executors = new HashSet<>();
        long back = 0;
        double seconds = 0;
        for (TaskGradient r : results) {
            sum.add(r.gradient());
            executors.add(r.executor());
            back += r.gradient().gradientBytes();
            seconds += r.seconds();
        }
        long out = w.value().bytes() * executors.size() + tasks.stream().mapToLong(TrainTask::bytes).sum();
        lastCost = new StepCost(out, back, executors.size(), tasks.size(), seconds);
        return sum;
    }

    /** What the last step moved between driver and executors, and its tasks' computing time. */
    StepCost lastCost() {
        return lastCost;
    }

    @Override
    public int workers() {
        return SparkJob.executors(sc);
    }

    @Override
    public String where() {
        int n = workers();
        return " on Spark " + sc.master() + " (" + n + (sc.isLocal() ? " task threads)" : n == 1 ? " executor registered)" : " executors registered)");
    }
}
