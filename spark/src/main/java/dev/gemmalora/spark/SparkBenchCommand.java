package dev.gemmalora.spark;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gemmalora.bench.Machine;
import dev.gemmalora.bench.RandomModel;
import dev.gemmalora.data.TrainingExample;
import dev.gemmalora.io.InputException;
import dev.gemmalora.io.Json;
import dev.gemmalora.lora.LoraAdapter;
import dev.gemmalora.lora.LoraConfig;
import dev.gemmalora.lora.LoraInit;
import dev.gemmalora.model.GemmaModel;
import dev.gemmalora.train.AdamW;
import dev.gemmalora.train.Batches;
import dev.gemmalora.train.GradientSum;
import dev.gemmalora.train.LocalGradients;
import dev.gemmalora.train.StepGradients;
import dev.gemmalora.train.TrainConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import org.apache.spark.api.java.JavaSparkContext;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * What the Spark path costs over train: the same optimizer steps on a random model of the
 * gemma-2-2b shape, each step run once by train's LocalGradients and once as a Spark job, the two
 * alternated so that both see the same minutes of this shared machine. Local mode only: the model
 * is built in memory and handed to the executor threads of this JVM.
 */
@Command(name = "bench", mixinStandardHelpOptions = true, showDefaultValues = true, sortOptions = false,
        description = {"Time LoRA optimizer steps through Spark (local mode) against train's own loop on a random gemma-2-2b-shaped model:",
                "seconds per step, the overhead fraction and the bytes a step sends to and from the executors."})
final class SparkBenchCommand implements Callable<Integer> {
    @Option(names = "--layers", defaultValue = "2", description = "Decoder layers of the random model (gemma-2-2b has 26).")
    int layers;

    @Option(names = "--steps", defaultValue = "3", description = "Timed optimizer steps of each kind (after one warm-up step of each).")
    int steps;

    @Option(names = "--batch-size", defaultValue = "2", description = "Sequences per micro-batch.")
    int batchSize;

    @Option(names = "--grad-accum", defaultValue = "2", description = "Micro-batches per optimizer step (one Spark task each).")
    int gradAccum;

    @Option(names = "--seq", defaultValue = "128", description = "Tokens per sequence.")
    int seq;

    @Option(names = "--json", paramLabel = "FILE", description = "Also write the figures as JSON.")
    Path json;

    @Override
    public Integer call() throws IOException {
        if (layers < 1 || steps < 1 || batchSize < 1 || gradAccum < 1 || seq < 2) {
            throw new InputException("--layers, --steps, --batch-size and --grad-accum must be at least 1, --seq at least 2");
        }
        GemmaModel model = RandomModel.build(RandomModel.config2b(layers), 1);
        String key = "random gemma-2-2b shape, " + layers + " layers";
        ExecutorState.install(key, model);
        LoraConfig lora = LoraConfig.of(8, 32, 0.1, false, LoraConfig.ALL_PROJECTIONS);
        TrainConfig recipe = TrainConfig.recipe();
        TrainConfig cfg = new TrainConfig(1, steps + 1, batchSize, gradAccum, 1e-4, 0, 1.0, 1, 0, 42, true, recipe.beta1(),
                recipe.beta2(), recipe.eps(), 0);
        List<Batches.Batch> window = window(model.config().vocabSize());
        double scale = 1.0 / window.stream().mapToInt(Batches.Batch::targets).sum();

        LoraAdapter localAdapter = LoraInit.create(model, lora, cfg.seed());
        LoraAdapter sparkAdapter = LoraInit.create(model, lora, cfg.seed());
        StepGradients local = new LocalGradients(model, localAdapter, cfg);
        AdamW localOpt = new AdamW(localAdapter.parameters(), cfg.beta1(), cfg.beta2(), cfg.eps(), 0);
        AdamW sparkOpt = new AdamW(sparkAdapter.parameters(), cfg.beta1(), cfg.beta2(), cfg.eps(), 0);
        JavaSparkContext sc = SparkJob.start("gemma-lora bench", 4L * gradAccum * paramCount(sparkAdapter));
        try {
            SparkGradients spark = new SparkGradients(sc, new TrainSpec(key, lora, cfg, null), sparkAdapter);
            System.out.printf("%s, LoRA r 8 on 7 projections (%,d parameters), %d micro-batches of %d x %d tokens a step, %s, %d threads, %s%n",
                    key, paramCount(sparkAdapter), gradAccum, batchSize, seq, sc.master(), dev.gemmalora.tensor.Parallel.threads(),
                    Machine.cpuName());
            double[] localSec = new double[steps];
            double[] sparkSec = new double[steps];
            double[] sparkOwn = new double[steps];
            StepCost cost = null;
            for (int step = 0; step <= steps; step++) {
                double l = time(local, localOpt, step, window, scale);
                double s = time(spark, sparkOpt, step, window, scale);
                cost = spark.lastCost();
                System.out.printf("step %d%s: train %.2f s, Spark %.2f s, of which outside the tasks' computing %.3f s%n", step,
                        step == 0 ? " (warm-up)" : "", l, s, s - cost.taskSeconds());
                if (step > 0) {
                    localSec[step - 1] = l;
                    sparkSec[step - 1] = s;
                    sparkOwn[step - 1] = s - cost.taskSeconds();
                }
            }
            report(localSec, sparkSec, sparkOwn, cost, Arrays.equals(flat(localAdapter), flat(sparkAdapter)));
        } finally {
            SparkJob.stop(sc);
        }
        return 0;
    }

    private List<Batches.Batch> window(int vocab) {
        List<Batches.Batch> window = new ArrayList<>();
        for (int m = 0; m < gradAccum; m++) {
            List<TrainingExample> rows = new ArrayList<>();
            for (int[] ids : RandomModel.randomIds(batchSize, seq, vocab, 100 + m)) {
                int[] mask = new int[seq];
                Arrays.fill(mask, 1);
                rows.add(new TrainingExample(ids, mask, ids.clone()));
            }
            window.add(Batches.pad(rows, 0));
        }
        return window;
    }

    private static double time(StepGradients gradients, AdamW opt, int step, List<Batches.Batch> window, double scale) {
        long t0 = System.nanoTime();
        GradientSum sum = gradients.compute(step, window, scale);
        opt.update(List.of(sum.grads()), 1e-4);
        return (System.nanoTime() - t0) / 1e9;
    }

    private void report(double[] localSec, double[] sparkSec, double[] sparkOwn, StepCost t, boolean sameWeights) throws IOException {
        double l = median(localSec);
        double s = median(sparkSec);
        double own = median(sparkOwn);
        double overhead = (s - l) / l;
        System.out.printf("median step: train %.3f s, Spark %.3f s: %+.1f%% (%+.3f s a step)%n", l, s, 100 * overhead, s - l);
        System.out.printf("Spark step outside its tasks' computing (broadcast, scheduling, results, sum, AdamW): %.3f s, %.2f%% of train's step%n",
                own, 100 * own / l);
        System.out.printf("sent per step: %.1f MB to executors (the weights to each of %d, the tokens), %.1f MB back (%d gradients)%n",
                t.toExecutors() / 1e6, t.executors(), t.fromExecutors() / 1e6, t.microBatches());
        System.out.println("adapter after the same steps: " + (sameWeights ? "the same bytes" : "DIFFERENT"));
        if (json != null) {
            ObjectNode o = Json.MAPPER.createObjectNode();
            o.put("layers", layers);
            o.put("micro_batches", gradAccum);
            o.put("batch_size", batchSize);
            o.put("seq", seq);
            o.put("cpu", Machine.cpuName());
            o.put("train_step_seconds", l);
            o.put("spark_step_seconds", s);
            o.put("overhead_fraction", overhead);
            o.put("spark_seconds_outside_tasks", own);
            o.put("outside_tasks_fraction", own / l);
            o.put("bytes_to_executors_per_step", t.toExecutors());
            o.put("bytes_from_executors_per_step", t.fromExecutors());
            o.put("same_adapter_bytes", sameWeights);
            ArrayNode a = o.putArray("train_steps_seconds");
            Arrays.stream(localSec).forEach(a::add);
            ArrayNode b = o.putArray("spark_steps_seconds");
            Arrays.stream(sparkSec).forEach(b::add);
            Files.writeString(json, Json.write(o));
        }
    }

    private static long paramCount(LoraAdapter a) {
        return a.parameters().stream().mapToLong(p -> p.length).sum();
    }

    private static float[] flat(LoraAdapter a) {
        float[] out = new float[(int) paramCount(a)];
        int at = 0;
        for (float[] p : a.parameters()) {
            System.arraycopy(p, 0, out, at, p.length);
            at += p.length;
        }
        return out;
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }
}
