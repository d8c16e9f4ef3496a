package dev.gemmalora.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;

import dev.gemmalora.io.InputException;
import org.apache.spark.SparkException;
import org.junit.jupiter.api.Test;

/**
 * Executors that cannot run the engine. An executor on an older JDK cannot load the job's classes,
 * so only Spark's report of the task reaches the driver; its wording here is Spark 4.2's, as the
 * injected failure in SparkTrainTest shows it for a real task.
 */
class SparkErrorsTest {
    @Test
    void anExecutorOnAnOldJdkIsNamedWithItsHost() {
        SparkException e = new SparkException("Job aborted due to stage failure: Task 0 in stage 0.0 failed 4 times, most recent failure:"
                + " Lost task 0.3 in stage 0.0 (TID 3) (worker-7.example executor 2): java.lang.UnsupportedClassVersionError:"
                + " dev/gemmalora/spark/ExecutorState has been compiled by a more recent version of the Java Runtime (class file version"
                + " 69.0), this version of the Java Runtime only recognizes class file versions up to 61.0\n\tat java.base/...");
        Exception ex = SparkErrors.explain(e);
        assertInstanceOf(InputException.class, ex);
        assertEquals("executor on worker-7.example (executor 2) runs a Java older than 25 (the job's classes need JDK 25); set"
                + " spark.executorEnv.JAVA_HOME to a JDK 25 (see README, 'Run on a cluster')", ex.getMessage());
    }

    @Test
    void anInputErrorOnAnExecutorIsPassedOnAsItIs() {
        InputException cause = new InputException("executor on h: model folder /m not found");
        assertSame(cause, SparkErrors.explain(new SparkException("Job aborted due to stage failure: ...", cause)));
    }
}
