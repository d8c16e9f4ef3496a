package dev.gemmalora.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gemmalora.io.Json;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Sharded evaluation against gemma-lora eval truthfulqa itself, on the t3 model (real vocabulary,
 * BF16) with its PEFT adapter: the same log-likelihoods, greedy flags and scores, row for row.
 */
class SparkEvalTest {
    /** 13 questions in batches of 2: chunks of 4, the last one short. */
    static final List<String> ARGS = List.of("eval", "truthfulqa",
            "--model", SparkRuns.t3().resolve("model").toString(),
            "--tokenizer", SparkRuns.tokenizer().toString(),
            "--adapter", SparkRuns.t3().resolve("adapter").toString(),
            "--data", SparkRuns.shared().resolve("data/truthfulqa").toString(),
            "--tasks", "mc1,mc2", "--limit", "13", "--batch", "2");

    @TempDir
    static Path dir;
    static Path local;

    @BeforeAll
    static void evaluateInOneProcess() {
        local = dir.resolve("local");
        SparkRuns.Run r = SparkRuns.cli(SparkRuns.with(ARGS, "--output", local.toString()));
        assertEquals(0, r.code(), r.err());
    }

    /** What a row computes: everything but its timing. */
    static List<JsonNode> scores(Path results) throws Exception {
        List<JsonNode> out = new ArrayList<>();
        for (String line : Files.readAllLines(results)) {
            ObjectNode n = (ObjectNode) Json.MAPPER.readTree(line);
            n.remove("seconds");
            out.add(n);
        }
        return out;
    }

    static void assertSameScores(Path spark) throws Exception {
        for (String model : List.of("base", "adapter")) {
            List<JsonNode> want = scores(local.resolve(model).resolve("results.jsonl"));
            List<JsonNode> got = scores(spark.resolve(model).resolve("results.jsonl"));
            assertEquals(13, want.size());
            assertEquals(want, got, model + ": rows (log-likelihoods, greedy flags, mc1, mc2, in question order)");
            JsonNode a = Json.read(local.resolve(model).resolve("summary.json"));
            JsonNode b = Json.read(spark.resolve(model).resolve("summary.json"));
            for (String f : List.of("mc1", "mc2", "n", "lm_eval_positions")) {
                assertEquals(a.get(f), b.get(f), model + " summary " + f);
            }
        }
        assertTrue(Files.isRegularFile(spark.resolve("report.html")) && Files.isRegularFile(spark.resolve("report.md")));
    }

    @Test
    void shardedScoresAreTheSingleProcessScores() throws Exception {
        Path out = dir.resolve("spark");
        SparkRuns.Run r = SparkRuns.spark("local[2]", Map.of(), SparkRuns.with(ARGS, "--output", out.toString()));
        assertEquals(0, r.code(), r.err());
        assertSameScores(out);

        // A driver killed mid-run: the adapter's file kept five rows and half of a sixth, and no summary or report was written.
        Path results = out.resolve("adapter/results.jsonl");
        List<String> lines = Files.readAllLines(results);
        Files.writeString(results, String.join("\n", lines.subList(0, 5)) + "\n" + lines.get(5).substring(0, 40));
        Files.delete(out.resolve("adapter/summary.json"));
        Files.delete(out.resolve("report.md"));
        Files.delete(out.resolve("report.html"));
        SparkRuns.Run again = SparkRuns.spark("local[3]", Map.of(), SparkRuns.with(ARGS, "--output", out.toString()));
        assertEquals(0, again.code(), again.err());
        assertTrue(again.out().contains("base: 13 questions already scored"), again.out());
        assertTrue(again.out().contains("adapter: 5 questions already scored"), again.out());
        assertSameScores(out);
    }

    /** A real JVM started without --add-modules jdk.incubator.vector, as an executor with the wrong flags would be. */
    @Test
    void anExecutorWithoutTheVectorApiIsNamedWithItsHost() throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        for (String flag : System.getProperty("spark.jvm.flags").trim().split("\\s+")) {
            if (!flag.equals("--add-modules") && !flag.equals("jdk.incubator.vector")) {
                cmd.add(flag);
            }
        }
        cmd.addAll(List.of("-Dspark.master=local[1]", "-cp", System.getProperty("java.class.path"), SparkMain.class.getName()));
        cmd.addAll(SparkRuns.with(ARGS, "--output", dir.resolve("no-vector").toString()));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertEquals(2, p.waitFor(), out);
        assertTrue(out.strip().endsWith("error: executor on " + ExecutorChecks.host() + " was started without the Vector API; add"
                + " '--add-modules jdk.incubator.vector' to spark.executor.extraJavaOptions (see README, 'Run on a cluster')"), out);
        assertTrue(!out.contains("\tat "), "no stack trace: " + out);
    }

    @Test
    void aModelMissingOnAnExecutorIsNamedWithItsHost() {
        Path missing = dir.resolve("no-such-model");
        SparkRuns.Run r = SparkRuns.spark("local[2]", Map.of(),
                SparkRuns.with(ARGS, "--model", missing.toString(), "--output", dir.resolve("missing").toString()));
        assertEquals(2, r.code(), r.err());
        String last = r.err().strip().lines().reduce((a, b) -> b).orElse("");
        assertTrue(last.startsWith("error: executor on " + ExecutorChecks.host() + ": model folder " + missing + " not found"), r.err());
    }
}
