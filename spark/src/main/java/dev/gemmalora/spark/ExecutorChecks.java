package dev.gemmalora.spark;

import dev.gemmalora.io.InputException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What an executor checks before it touches the engine, so that a misconfigured node fails with
 * one line naming the host and the fix instead of a NoClassDefFoundError deep in a stack trace.
 * This class uses no engine class: it must load on a JVM that could not run the engine.
 */
final class ExecutorChecks {
    static final String CLUSTER_HELP = "see README, 'Run on a cluster'";

    private ExecutorChecks() {
    }

    static String host() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (UnknownHostException e) {
            return "unknown host";
        }
    }

    /** The JDK and the Vector API module, which every engine kernel needs. */
    static void requireJvm() {
        int feature = Runtime.version().feature();
        if (feature < 25) {
            throw new InputException("executor on " + host() + " runs Java " + Runtime.version() + "; gemma-lora needs JDK 25 on every"
                    + " executor (set spark.executorEnv.JAVA_HOME to a JDK 25; " + CLUSTER_HELP + ")");
        }
        if (ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) {
            throw new InputException("executor on " + host() + " was started without the Vector API; add '--add-modules"
                    + " jdk.incubator.vector' to spark.executor.extraJavaOptions (" + CLUSTER_HELP + ")");
        }
    }

    /** A folder the job reads on every node (the model, the tokenizer, an adapter). */
    static void requireFolder(String what, String dir, String file) {
        Path d = Path.of(dir);
        if (!Files.isDirectory(d)) {
            throw new InputException("executor on " + host() + ": " + what + " folder " + dir + " not found; every node reads it"
                    + " from the same path: put it there on each node, or ship it with --archives (" + CLUSTER_HELP + ")");
        }
        if (file != null && !Files.isRegularFile(d.resolve(file))) {
            throw new InputException("executor on " + host() + ": " + d.resolve(file) + " not found (the " + what + " folder is"
                    + " incomplete on this node)");
        }
    }

    /** The tokenizer: a folder holding tokenizer.json, or the file itself. */
    static void requireTokenizer(String path) {
        Path p = Path.of(path);
        requireFolder("tokenizer", Files.isRegularFile(p) ? p.getParent().toString() : path,
                Files.isRegularFile(p) ? p.getFileName().toString() : "tokenizer.json");
    }
}
