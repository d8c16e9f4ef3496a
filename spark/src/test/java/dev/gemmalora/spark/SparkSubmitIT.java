package dev.gemmalora.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The job jar as users run it: through spark-submit, on Spark's own classpath and nothing else.
 * SPARK_HOME/jars holds Spark 4.2's jars (those of a distribution, from Maven Central), and each
 * java command is the one Spark's launcher library builds for bin/spark-submit, with the JVM flags
 * Spark itself adds. With a local-cluster master Spark starts a standalone master and workers,
 * and every executor is a JVM of its own that gets its tasks, the broadcast weights and the job
 * jar over the network (loopback), as on a cluster.
 */
class SparkSubmitIT {
    @TempDir
    static Path dir;
    static Path home;
    static Path local;

    @BeforeAll
    static void installSparkAndTrainOnOneMachine() throws Exception {
        home = dir.resolve("spark-home");
        Files.createDirectories(home.resolve("jars"));
        for (String jar : Files.readString(Path.of(System.getProperty("spark.classpath.file"))).trim().split(File.pathSeparator)) {
            Path p = Path.of(jar);
            Files.createSymbolicLink(home.resolve("jars").resolve(p.getFileName()), p);
        }
        local = dir.resolve("local");
        assertEquals(0, SparkRuns.cli(SparkRuns.with(SparkTrainTest.ARGS, "--output", local.toString())).code());
    }

    @Test
    void theJobJarTrainsTrainsBytesUnderSparkSubmit() throws Exception {
        assertSubmittedTrainingIsTrains("local[2]");
    }

    /** Two executor JVMs, each loading the model and computing its micro-batches: still train's bytes. */
    @Test
    void executorsInJvmsOfTheirOwnTrainTrainsBytes() throws Exception {
        assertSubmittedTrainingIsTrains("local-cluster[2,1,1024]");
    }

    /** A real executor JVM on JDK 17: it cannot load the job's classes, and the driver says which host it is. */
    @Test
    void anExecutorOnJdk17IsNamedWithItsHost() throws Exception {
        Path jdk17;
        try (Stream<Path> jvms = Files.list(Path.of("/usr/lib/jvm"))) {
            jdk17 = jvms.filter(p -> p.getFileName().toString().matches("java-17-openjdk.*") && Files.isExecutable(p.resolve("bin/java")))
                    .findFirst().orElse(null);
        }
        assumeTrue(jdk17 != null, "no JDK 17 in /usr/lib/jvm to start an executor with");
        Path out = dir.resolve("jdk17");
        // The standalone worker starts executors with the java of JAVA_HOME; the driver keeps JDK 25.
        Run r = submit("local-cluster[1,1,1024]", Map.of("JAVA_HOME", jdk17.toString()),
                SparkRuns.with(SparkTrainTest.ARGS, "--output", out.toString()), out);
        assertEquals(2, r.code(), r.log());
        String last = r.log().strip().lines().reduce((a, b) -> b).orElse("");
        assertTrue(last.matches("error: executor on \\S+ \\(executor \\d+\\) runs a Java older than 25 \\(the job's classes need JDK 25\\);"
                + " set spark.executorEnv.JAVA_HOME to a JDK 25 \\(see README, 'Run on a cluster'\\)"), r.log());
    }

    private static void assertSubmittedTrainingIsTrains(String master) throws Exception {
        Path out = dir.resolve(master.replaceAll("\\W", ""));
        Run r = submit(master, Map.of(), SparkRuns.with(SparkTrainTest.ARGS, "--output", out.toString()), out);
        assertEquals(0, r.code(), r.log());
        assertTrue(r.log().contains("on Spark " + master), r.log());
        for (String f : SparkTrainTest.SAME_BYTES) {
            assertArrayEquals(Files.readAllBytes(local.resolve(f)), Files.readAllBytes(out.resolve(f)), f + " differs from train's");
        }
    }

    private record Run(int code, String log) {
    }

    /** spark-submit --master master --class SparkMain JOB.jar args, with env added to the submitting process. */
    private static Run submit(String master, Map<String, String> env, List<String> args, Path out) throws Exception {
        List<String> submit = new ArrayList<>(List.of("org.apache.spark.deploy.SparkSubmit", "--master", master,
                "--class", SparkMain.class.getName(), "--driver-memory", "2g", System.getProperty("job.jar")));
        submit.addAll(args);
        List<String> command = launcherCommand(submit);
        assertTrue(command.stream().anyMatch(a -> a.contains("jdk.incubator.vector")), "Spark's launcher adds the Vector API: " + command);
        Path log = Path.of(out + ".log");
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
        environment(pb);
        pb.environment().putAll(env);
        int code = pb.start().waitFor();
        return new Run(code, Files.readString(log));
    }

    /** What bin/spark-class runs: the launcher library prints the java command, NUL-separated. */
    private static List<String> launcherCommand(List<String> submit) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx128m",
                "-cp", home.resolve("jars") + File.separator + "*", "org.apache.spark.launcher.Main"));
        cmd.addAll(submit);
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(dir.resolve("launcher.log").toFile());
        environment(pb);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), Files.readString(dir.resolve("launcher.log")));
        return Arrays.stream(out.split("\0")).map(String::strip).filter(s -> !s.isEmpty()).toList();
    }

    /** What bin/load-spark-env.sh exports for a Spark 4 distribution. */
    private static void environment(ProcessBuilder pb) {
        pb.environment().put("SPARK_HOME", home.toString());
        pb.environment().put("SPARK_SCALA_VERSION", "2.13");
        pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
    }
}
