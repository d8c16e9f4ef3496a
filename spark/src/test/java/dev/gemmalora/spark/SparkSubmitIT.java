package dev.gemmalora.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The job jar as users run it: through spark-submit, on Spark's own classpath and nothing else.
 * SPARK_HOME/jars holds Spark 4.2's jars (those of a distribution, from Maven Central), and the
 * java command is the one Spark's launcher library builds for bin/spark-submit, with the JVM flags
 * Spark itself adds. The adapter must have the bytes of gemma-lora train.
 */
class SparkSubmitIT {
    @Test
    void theJobJarTrainsUnderSparkSubmit(@TempDir Path dir) throws Exception {
        Path home = dir.resolve("spark-home");
        Files.createDirectories(home.resolve("jars"));
        for (String jar : Files.readString(Path.of(System.getProperty("spark.classpath.file"))).trim().split(File.pathSeparator)) {
            Path p = Path.of(jar);
            Files.createSymbolicLink(home.resolve("jars").resolve(p.getFileName()), p);
        }
        Path local = dir.resolve("local");
        Path submitted = dir.resolve("submitted");
        assertEquals(0, SparkRuns.cli(SparkRuns.with(SparkTrainTest.ARGS, "--output", local.toString())).code());

        List<String> submit = new ArrayList<>(List.of("org.apache.spark.deploy.SparkSubmit", "--master", "local[2]",
                "--class", SparkMain.class.getName(), "--driver-memory", "2g", System.getProperty("job.jar")));
        submit.addAll(SparkRuns.with(SparkTrainTest.ARGS, "--output", submitted.toString()));
        List<String> command = launcherCommand(home, submit, dir);
        assertTrue(command.stream().anyMatch(a -> a.contains("jdk.incubator.vector")), "Spark's launcher adds the Vector API: " + command);

        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(dir.resolve("submit.log").toFile());
        environment(pb, home);
        int code = pb.start().waitFor();
        String log = Files.readString(dir.resolve("submit.log"));
        assertEquals(0, code, log);
        assertTrue(log.contains("on Spark local[2]"), log);
        for (String f : SparkTrainTest.SAME_BYTES) {
            assertArrayEquals(Files.readAllBytes(local.resolve(f)), Files.readAllBytes(submitted.resolve(f)), f + " differs from train's");
        }
    }

    /** What bin/spark-class runs: the launcher library prints the java command, NUL-separated. */
    private static List<String> launcherCommand(Path home, List<String> submit, Path dir) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx128m",
                "-cp", home.resolve("jars") + File.separator + "*", "org.apache.spark.launcher.Main"));
        cmd.addAll(submit);
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(dir.resolve("launcher.log").toFile());
        environment(pb, home);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), Files.readString(dir.resolve("launcher.log")));
        return Arrays.stream(out.split("\0")).map(String::strip).filter(s -> !s.isEmpty()).toList();
    }

    /** What bin/load-spark-env.sh exports for a Spark 4 distribution. */
    private static void environment(ProcessBuilder pb, Path home) {
        pb.environment().put("SPARK_HOME", home.toString());
        pb.environment().put("SPARK_SCALA_VERSION", "2.13");
        pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
    }
}
