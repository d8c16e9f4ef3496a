package dev.gemmalora.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gemmalora.io.Json;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Spark job against gemma-lora train itself, on the t3 model (real 256k vocabulary) and real
 * instruction records: the same adapter, optimizer and checkpoint bytes and the same logged numbers,
 * whatever the executor count, a retried task or a killed driver.
 */
class SparkTrainTest {
    /** 5 steps of 3 micro-batches, with dropout, checkpoints at steps 2 and 4. */
    static final List<String> ARGS = List.of("train",
            "--model", SparkRuns.t3().resolve("model").toString(),
            "--tokenizer", SparkRuns.tokenizer().toString(),
            "--data", SparkRuns.shared().resolve("data/instructions/gsm8k_train.alpaca.json").toString(),
            "--max-samples", "40", "--max-length", "96", "--batch-size", "2", "--grad-accum", "3", "--lr", "1e-2",
            "--logging-steps", "1", "--max-steps", "5", "--save-steps", "2");
    /** What train writes that is computed (timings aside): these must be the same bytes. */
    static final List<String> SAME_BYTES = List.of("final/adapter_model.safetensors", "final/adapter_config.json",
            "checkpoint-2/adapter_model.safetensors", "checkpoint-2/optimizer.safetensors",
            "checkpoint-4/adapter_model.safetensors", "checkpoint-4/optimizer.safetensors");

    @TempDir
    static Path dir;
    static Path local;

    @BeforeAll
    static void trainOnOneMachine() {
        local = dir.resolve("local");
        SparkRuns.Run r = SparkRuns.cli(SparkRuns.with(ARGS, "--output", local.toString()));
        assertEquals(0, r.code(), r.err());
    }

    static void assertSameRun(Path spark) throws Exception {
        assertEquals(SparkRuns.files(local), SparkRuns.files(spark), "the same files");
        for (String f : SAME_BYTES) {
            assertArrayEquals(Files.readAllBytes(local.resolve(f)), Files.readAllBytes(spark.resolve(f)), f + " differs from train's");
        }
        assertEquals(computed(Files.readAllLines(local.resolve("metrics.jsonl"))), computed(Files.readAllLines(spark.resolve("metrics.jsonl"))),
                "metrics.jsonl");
        for (String ckpt : List.of("checkpoint-2", "checkpoint-4")) {
            JsonNode a = Json.read(local.resolve(ckpt).resolve("trainer_state.json"));
            JsonNode b = Json.read(spark.resolve(ckpt).resolve("trainer_state.json"));
            for (JsonNode s : List.of(a, b)) {
                ((ObjectNode) s).remove("log_history");
            }
            assertEquals(a, b, ckpt + "/trainer_state.json");
        }
    }

    /** The rows without their timings. */
    static List<JsonNode> computed(List<String> rows) throws Exception {
        List<JsonNode> out = new ArrayList<>();
        for (String r : rows) {
            ObjectNode n = (ObjectNode) Json.MAPPER.readTree(r);
            n.remove("tokens_per_s");
            n.remove("elapsed_s");
            out.add(n);
        }
        return out;
    }

    @Test
    void twoAndThreeExecutorThreadsWriteTrainsBytes() throws Exception {
        for (String master : List.of("local[2]", "local[3]")) {
            Path out = dir.resolve(master.replaceAll("\\W", ""));
            SparkRuns.Run r = SparkRuns.spark(master, Map.of(), SparkRuns.with(ARGS, "--output", out.toString()));
            assertEquals(0, r.code(), r.err());
            assertTrue(r.out().contains("on Spark " + master), r.out());
            assertSameRun(out);
        }
    }

    @Test
    void aTaskThatFailsOnceIsRerunAndChangesNothing() throws Exception {
        Path out = dir.resolve("retried");
        // local[N,F]: N task threads, each task tried up to F times (local mode's default is 1).
        SparkRuns.Run r = SparkRuns.spark("local[3,2]", Map.of(SparkJob.FAIL_TASK, "1:1"), SparkRuns.with(ARGS, "--output", out.toString()));
        assertEquals(0, r.code(), r.err());
        assertSameRun(out);
    }

    @Test
    void theInjectedFailureIsRealWithoutRetries() throws Exception {
        Path out = dir.resolve("no-retry");
        SparkRuns.Run r = SparkRuns.spark("local[2]", Map.of(SparkJob.FAIL_TASK, "0:2"), SparkRuns.with(ARGS, "--output", out.toString()));
        assertEquals(1, r.code());
        // Spark's own report of the failure, turned into one line that names where it happened.
        String last = r.err().strip().lines().reduce((a, b) -> b).orElse("");
        assertTrue(last.startsWith("error: a Spark task on localhost (executor driver) failed: java.lang.IllegalStateException: failure"
                + " injected into micro-batch 2 of step 0"), r.err());
        assertTrue(last.endsWith("(run with --verbose for the stack trace)"), last);
        assertFalse(r.err().contains("\tat "), "no stack trace without --verbose: " + r.err());
        assertFalse(Files.exists(out.resolve("final")), "no adapter after a failed step");
    }

    /** The driver is a real process killed with SIGKILL once its second checkpoint is on disk; --resume finishes the run. */
    @Test
    void aKilledDriverResumesToTheSameBytes() throws Exception {
        Path out = dir.resolve("killed");
        Process p = SparkRuns.child(List.of("-Dspark.master=local[2]"), SparkRuns.with(ARGS, "--output", out.toString(), "--save-steps", "1"),
                dir.resolve("killed.log"));
        try {
            long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
            while (!Files.isDirectory(out.resolve("checkpoint-2")) && p.isAlive() && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertTrue(p.isAlive(), "the driver ended before its second checkpoint: " + Files.readString(dir.resolve("killed.log")));
            p.destroyForcibly().waitFor();
        } finally {
            p.destroyForcibly();
        }
        assertFalse(Files.exists(out.resolve("final")), "killed before the end");
        SparkRuns.Run r = SparkRuns.spark("local[2]", Map.of(), SparkRuns.with(ARGS, "--output", out.toString(), "--save-steps", "2", "--resume"));
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("resuming from"), r.out());
        for (String f : List.of("final/adapter_model.safetensors", "checkpoint-4/optimizer.safetensors")) {
            assertArrayEquals(Files.readAllBytes(local.resolve(f)), Files.readAllBytes(out.resolve(f)), f + " differs after the kill");
        }
        assertEquals(computed(Files.readAllLines(local.resolve("metrics.jsonl"))), computed(Files.readAllLines(out.resolve("metrics.jsonl"))));
    }

    @Test
    void anOutputThatHoldsARunIsRefusedBeforeSparkStarts() {
        SparkRuns.Run r = SparkRuns.spark("local[2]", Map.of(), SparkRuns.with(ARGS, "--output", local.toString()));
        assertEquals(2, r.code());
        assertTrue(r.err().startsWith("error: " + local + ": already holds a training run"), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
    }
}
