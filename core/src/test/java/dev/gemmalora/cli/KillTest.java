package dev.gemmalora.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gemmalora.GoldenPaths;
import dev.gemmalora.io.Json;
import dev.gemmalora.model.GemmaModel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real processes killed with SIGKILL at random moments, several times a run, then continued: the
 * end result must be what an uninterrupted run writes, and no half-written output may stand under
 * its final name. The moments come from a seeded Random, printed on failure.
 */
class KillTest {
    private static final long SEED = 20261207;

    static List<String> trainArgs(Path out) {
        return TrainArgs.of(out, 16, 1);
    }

    /**
     * Kills p once it has run `millis` after starting, or as soon as trigger holds, whichever comes
     * first, and asserts that the kill met a running process (a run that ended first tests nothing).
     */
    static void killWhen(Process p, long millis, java.util.function.BooleanSupplier trigger, Path log) throws Exception {
        assertTrue(kill(p, millis, trigger), "the process ended before its kill (seed " + SEED + "): " + Files.readString(log));
    }

    /** The same without the assertion: whether the process was still running when killed. */
    static boolean kill(Process p, long millis, java.util.function.BooleanSupplier trigger) throws Exception {
        long end = System.nanoTime() + millis * 1_000_000L;
        while (p.isAlive() && System.nanoTime() < end && !trigger.getAsBoolean()) {
            Thread.onSpinWait();
        }
        boolean alive = p.isAlive();
        p.destroyForcibly().waitFor(1, TimeUnit.MINUTES);
        return alive;
    }

    static boolean writingACheckpoint(Path out) {
        try (Stream<Path> s = Files.list(out)) {
            return s.anyMatch(f -> f.getFileName().toString().matches("\\.checkpoint-\\d+\\.tmp"));
        } catch (Exception e) {
            return false;
        }
    }

    /** Five kills: two at random moments, three the moment a checkpoint's temporary folder appears. */
    @Test
    void killedTrainingResumesToTheStraightRunsBytes(@TempDir Path dir) throws Exception {
        Path straight = dir.resolve("straight");
        assertEquals(0, CliTest.run(trainArgs(straight).toArray(String[]::new)).code());
        Path out = dir.resolve("killed");
        Random rnd = new Random(SEED);
        List<String> args = trainArgs(out);
        int caughtWriting = 0;
        for (int kill = 0; kill < 5; kill++) {
            Path log = dir.resolve("kill-" + kill + ".log");
            Process p = ChildJvm.start(args, log);
            boolean atWrite = kill >= 2;
            long delay = 1500 + rnd.nextInt(2500);
            killWhen(p, atWrite ? 60_000 : delay, () -> atWrite && Files.isDirectory(out) && writingACheckpoint(out), log);
            caughtWriting += writingACheckpoint(out) ? 1 : 0;
            if (!args.contains("--resume")) {
                args.add("--resume");
            }
        }
        System.out.println(caughtWriting + " of 5 kills left a checkpoint half-written");
        CliTest.Run rest = CliTest.run(args.toArray(String[]::new));
        assertEquals(0, rest.code(), rest.err());
        String why = "seed " + SEED + ", " + caughtWriting + " kills left a checkpoint half-written";
        for (String f : List.of("final/adapter_model.safetensors", "checkpoint-16/optimizer.safetensors", "checkpoint-16/adapter_model.safetensors")) {
            assertArrayEquals(Files.readAllBytes(straight.resolve(f)), Files.readAllBytes(out.resolve(f)), f + " (" + why + ")");
        }
        assertEquals(Files.readAllLines(straight.resolve("metrics.jsonl")).size(), Files.readAllLines(out.resolve("metrics.jsonl")).size(), why);
        try (Stream<Path> s = Files.list(out)) {
            assertTrue(s.noneMatch(f -> f.getFileName().toString().endsWith(".tmp")), "no temporary folder is left: " + why);
        }
    }

    @Test
    void killedEvaluationResumesToTheSameRows(@TempDir Path dir) throws Exception {
        List<String> base = List.of("eval", "truthfulqa", "--model", GoldenPaths.mc().resolve("model").toString(),
                "--tokenizer", GoldenPaths.tokenizer().toString(), "--adapter", GoldenPaths.mc().resolve("adapter").toString(),
                "--data", GoldenPaths.shared().resolve("data/truthfulqa").toString(), "--limit", "40", "--batch", "1", "--output");
        Path straight = dir.resolve("straight");
        List<String> a = new ArrayList<>(base);
        a.add(straight.toString());
        assertEquals(0, CliTest.run(a.toArray(String[]::new)).code());
        Path out = dir.resolve("killed");
        List<String> b = new ArrayList<>(base);
        b.add(out.toString());
        Random rnd = new Random(SEED);
        for (int kill = 0; kill < 3; kill++) {
            Path log = dir.resolve("kill-" + kill + ".log");
            killWhen(ChildJvm.start(b, log), 1500 + rnd.nextInt(3000), () -> false, log);
        }
        CliTest.Run rest = CliTest.run(b.toArray(String[]::new));
        assertEquals(0, rest.code(), rest.err());
        for (String model : List.of("base", "adapter")) {
            assertEquals(rows(straight.resolve(model).resolve("results.jsonl")), rows(out.resolve(model).resolve("results.jsonl")), model);
        }
    }

    static List<ObjectNode> rows(Path file) throws Exception {
        List<ObjectNode> out = new ArrayList<>();
        for (String line : Files.readAllLines(file)) {
            ObjectNode n = (ObjectNode) Json.MAPPER.readTree(line);
            n.remove("seconds");
            out.add(n);
        }
        return out;
    }

    /**
     * merge writes its folder whole: killed the moment its temporary folder appears, it leaves
     * nothing under the final name (or, if the rename won the race, a checkpoint that loads).
     */
    @Test
    void aKilledMergeLeavesNoHalfCheckpoint(@TempDir Path dir) throws Exception {
        int midWrite = 0;
        for (int kill = 0; kill < 4; kill++) {
            Path out = dir.resolve("merged-" + kill);
            Path tmp = dir.resolve(".merged-" + kill + ".tmp");
            List<String> args = List.of("merge", "--model", GoldenPaths.t1().resolve("model").toString(),
                    "--adapter", GoldenPaths.t1().resolve("adapter").toString(), "--output", out.toString(), "--max-shard-size", "300KB");
            boolean alive = kill(ChildJvm.start(args, dir.resolve("merge-" + kill + ".log")), 60_000, () -> Files.exists(tmp));
            midWrite += alive && Files.exists(tmp) ? 1 : 0;
            if (Files.exists(out)) {
                assertTrue(GemmaModel.load(out).config().layers() > 0, "a merged folder under the final name is complete");
            } else {
                assertEquals(0, CliTest.run(args.toArray(String[]::new)).code(), "the same merge runs after the kill");
                assertTrue(Files.isRegularFile(out.resolve("config.json")) && !Files.exists(tmp));
            }
        }
        assertTrue(midWrite >= 2, midWrite + " of 4 kills landed while the merge was writing");
    }
}
