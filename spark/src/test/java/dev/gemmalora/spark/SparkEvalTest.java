package dev.gemmalora.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gemmalora.eval.ResultsFile;
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

    static void assertSameScores(Path spark, int questions) throws Exception {
        for (String model : List.of("base", "adapter")) {
            List<JsonNode> want = scores(local.resolve(model).resolve("results.jsonl"));
            List<JsonNode> got = scores(spark.resolve(model).resolve("results.jsonl"));
            assertEquals(questions, want.size());
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
        assertSameScores(out, 13);
    }

    /**
     * The driver is a real process killed with SIGKILL once some of the base model's rows are on
     * disk; the same command keeps them and scores the rest.
     */
    @Test
    void aKilledDriverKeepsTheQuestionsItFinished() throws Exception {
        List<String> args = SparkRuns.with(ARGS, "--limit", "80", "--batch", "1");
        Path one = dir.resolve("one-process-80");
        assertEquals(0, SparkRuns.cli(SparkRuns.with(args, "--output", one.toString())).code());
        Path out = dir.resolve("killed");
        Path rows = out.resolve("base/results.jsonl");
        Process p = SparkRuns.child(List.of("-Dspark.master=local[2]"), SparkRuns.with(args, "--output", out.toString()), dir.resolve("killed.log"));
        try {
            long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.MINUTES.toNanos(3);
            while ((!Files.exists(rows) || Files.readAllLines(rows).size() < 4) && p.isAlive() && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertTrue(p.isAlive(), "the driver ended before it was killed: " + Files.readString(dir.resolve("killed.log")));
            p.destroyForcibly().waitFor();
        } finally {
            p.destroyForcibly();
        }
        int kept = ResultsFile.readDone(rows).size();
        assertTrue(kept >= 4 && !Files.exists(out.resolve("report.md")), kept + " rows kept");
        SparkRuns.Run again = SparkRuns.spark("local[2]", Map.of(), SparkRuns.with(args, "--output", out.toString()));
        assertEquals(0, again.code(), again.err());
        assertTrue(again.out().contains("base: " + kept + " questions already scored"), again.out());
        for (String model : List.of("base", "adapter")) {
            assertEquals(scores(one.resolve(model).resolve("results.jsonl")), scores(out.resolve(model).resolve("results.jsonl")), model);
        }
    }

    /** A real JVM started without --add-modules jdk.incubator.vector, as an executor with the wrong flags would be. */
    @Test
    void anExecutorWithoutTheVectorApiIsNamedWithItsHost() throws Exception {
        Path log = dir.resolve("no-vector.log");
        Process p = SparkRuns.child(List.of("-Dspark.master=local[1]"), SparkRuns.with(ARGS, "--output", dir.resolve("no-vector").toString()), log,
                "--add-modules", "jdk.incubator.vector");
        p.waitFor();
        String out = Files.readString(log);
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
