package dev.gemmalora.spark;

import dev.gemmalora.lora.LoraInit;
import dev.gemmalora.model.GemmaModel;
import dev.gemmalora.tensor.Parallel;
import dev.gemmalora.train.MicroBatchGradient;
import dev.gemmalora.train.MicroBatchRunner;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.SparkEnv;
import org.apache.spark.TaskContext;

/**
 * What an executor JVM keeps between tasks: the base model (loaded once, memory-mapped), the LoRA
 * runner of a training job and the evaluator of an evaluation job. One task computes at a time:
 * the engine's own thread pool already uses every core, and the runner's buffers are not shared.
 * Give each executor one task slot (spark.task.cpus = spark.executor.cores); more slots only queue here.
 */
final class ExecutorState {
    private static final Object LOCK = new Object();
    /** Models by folder, plus any installed in-process (the benchmark's random model). */
    private static final Map<String, GemmaModel> MODELS = new HashMap<>();
    private static MicroBatchRunner runner;
    private static GemmaModel runnerModel;
    private static TrainSpec runnerSpec;

    private ExecutorState() {
    }

    /** Makes key resolve to an in-memory model in this JVM (local mode only: executors elsewhere cannot see it). */
    static void install(String key, GemmaModel model) {
        synchronized (LOCK) {
            MODELS.put(key, model);
        }
    }

    /** The model at dir, loaded once per JVM; a job on another model replaces it. */
    static GemmaModel model(String dir) {
        GemmaModel m = MODELS.get(dir);
        if (m == null) {
            ExecutorChecks.requireFolder("model", dir, "config.json");
            MODELS.clear();
            m = GemmaModel.load(Path.of(dir));
            MODELS.put(dir, m);
        }
        return m;
    }

    static Object lock() {
        return LOCK;
    }

    static String executorId() {
        SparkEnv env = SparkEnv.get();
        return (env == null ? "?" : env.executorId()) + "@" + ExecutorChecks.host();
    }

    /**
     * What every task does first: check the JVM, then size the engine's pool to the task's cores
     * where spark.task.cpus says how many (a container may see more cores than it was given).
     */
    static void enter() {
        ExecutorChecks.requireJvm();
        SparkEnv env = SparkEnv.get();
        String cpus = env == null ? null : env.conf().get("spark.task.cpus", null);
        if (cpus != null) {
            Parallel.setThreads(Integer.parseInt(cpus.trim()));
        }
    }

    /** One micro-batch's gradient at the broadcast weights, computed by this executor. */
    static TaskGradient train(TrainSpec spec, LoraWeights weights, TrainTask task) {
        enter();
        MicroBatchGradient g;
        long t0;
        synchronized (LOCK) {
            t0 = System.nanoTime();
            GemmaModel m = model(spec.modelDir());
            if (runner == null || runnerModel != m || !spec.equals(runnerSpec)) {
                runner = new MicroBatchRunner(m, LoraInit.create(m, spec.lora(), spec.train().seed()));
                runnerModel = m;
                runnerSpec = spec;
            }
            List<float[]> params = runner.adapter().parameters();
            for (int i = 0; i < params.size(); i++) {
                System.arraycopy(weights.params()[i], 0, params.get(i), 0, params.get(i).length);
            }
            g = runner.run(task.batch(), task.step(), task.index(), task.gradScale(), spec.train()).copy();
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        failIfAsked(spec, task);
        return new TaskGradient(g, executorId(), seconds);
    }

    /** The test hook of TrainSpec.failAt: the first attempt of that micro-batch dies after its work. */
    private static void failIfAsked(TrainSpec spec, TrainTask task) {
        TaskContext ctx = TaskContext.get();
        if ((task.step() + ":" + task.index()).equals(spec.failAt()) && ctx != null && ctx.attemptNumber() == 0) {
            throw new IllegalStateException("failure injected into micro-batch " + task.index() + " of step " + task.step()
                    + " (spark.gemmalora.failTask), attempt 0");
        }
    }
}
