package dev.gemmalora.spark;

import dev.gemmalora.io.InputException;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;

/** Starts the job's Spark context from what spark-submit (or ./gemma-lora-spark) set. */
final class SparkJob {
    /** Test hook: "STEP:INDEX" fails that training micro-batch's first attempt (see TrainSpec). */
    static final String FAIL_TASK = "spark.gemmalora.failTask";

    private SparkJob() {
    }

    /**
     * A context for app; resultBytes is the most a job of it sends back to the driver at once,
     * so that Spark's spark.driver.maxResultSize (1 GB by default) does not stop a large step.
     */
    static JavaSparkContext start(String app, long resultBytes) {
        SparkConf conf = new SparkConf();
        if (!conf.contains("spark.master")) {
            throw new InputException("no Spark master is set: submit the job with spark-submit --master URL, or run"
                    + " ./gemma-lora-spark --master local[N] ... on one machine");
        }
        conf.setIfMissing("spark.app.name", app);
        // Spark's console progress bar would draw over the job's own progress line.
        conf.setIfMissing("spark.ui.showConsoleProgress", "false");
        long mb = resultBytes / (1 << 20);
        conf.setIfMissing("spark.driver.maxResultSize", Math.max(1024, mb + mb / 4 + 64) + "m");
        JavaSparkContext sc = new JavaSparkContext(conf);
        sc.setLogLevel("WARN");
        return sc;
    }

    /**
     * Stops the context once no task is still running: after a failure the other jobs' tasks would
     * otherwise report to a scheduler already shut down, which Spark logs with stack traces.
     */
    static void stop(JavaSparkContext sc) {
        sc.cancelAllJobs();
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (sc.statusTracker().getActiveStageIds().length > 0 && System.nanoTime() < deadline) {
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        sc.stop();
    }

    /** Executors that can run tasks: the task threads in local mode, otherwise the executors registered so far. */
    static int executors(JavaSparkContext sc) {
        if (sc.isLocal()) {
            return sc.defaultParallelism();
        }
        return Math.max(1, sc.sc().statusTracker().getExecutorInfos().length - 1);
    }
}
