package dev.gemmalora.spark;

import dev.gemmalora.io.InputException;
import java.util.concurrent.ExecutionException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Turns what Spark reports of a failed task into the CLI's one-line input errors: the executor's
 * own InputException where it threw one, and the failures that mean an executor JVM cannot run
 * the engine at all (an old JDK cannot even load the job's classes, so only the driver can say so).
 */
final class SparkErrors {
    /** Spark's "Lost task 0.0 in stage 0.0 (TID 0) (HOST executor ID): ..." */
    private static final Pattern LOST_TASK = Pattern.compile("Lost task \\S+ in stage \\S+ \\(TID \\d+\\) \\((\\S+) executor ([^)]+)\\)");

    private SparkErrors() {
    }

    static Exception explain(Exception e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof InputException ie) {
                return ie;
            }
        }
        String text = String.valueOf(e.getMessage());
        if (text.contains("UnsupportedClassVersionError")) {
            return new InputException("executor " + where(text) + " runs a Java older than 25 (the job's classes need JDK 25);"
                    + " set spark.executorEnv.JAVA_HOME to a JDK 25 (" + ExecutorChecks.CLUSTER_HELP + ")");
        }
        if (text.contains("jdk/incubator/vector") || text.contains("jdk.incubator.vector")) {
            return new InputException("executor " + where(text) + " was started without the Vector API; add '--add-modules"
                    + " jdk.incubator.vector' to spark.executor.extraJavaOptions (" + ExecutorChecks.CLUSTER_HELP + ")");
        }
        if (text.startsWith("Job aborted due to stage failure")) {
            Throwable cause = e.getCause() != null ? e.getCause() : e;
            return new TaskFailure("a Spark task " + where(text) + " failed: " + firstLine(cause.toString()), e);
        }
        return e;
    }

    /** A task's failure in one line; its stack trace stays in the cause, for --verbose. */
    static final class TaskFailure extends RuntimeException {
        TaskFailure(String message, Throwable cause) {
            super(message, cause);
        }

        @Override
        public String toString() {
            return getMessage();
        }
    }

    private static String firstLine(String s) {
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }

    private static String where(String sparkMessage) {
        Matcher m = LOST_TASK.matcher(sparkMessage);
        return m.find() ? "on " + m.group(1) + " (executor " + m.group(2) + ")" : "(host not reported)";
    }

    /** The failure behind an async Spark job, as the caller would have seen it had it run the job itself. */
    static RuntimeException unwrap(ExecutionException e) {
        Throwable c = e.getCause();
        return c instanceof RuntimeException r ? r : new IllegalStateException(c);
    }
}
