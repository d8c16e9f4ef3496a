package dev.gemmalora.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Ctrl-C and SIGTERM sent to a real training process: it finishes its step, checkpoints, says how to resume, exits 130. */
class TrainStopTest {
    static List<String> args(Path out) {
        return TrainArgs.of(out, 24, 100);
    }

    /** Waits until the run has logged `rows` steps past those it started with, then sends the signal. */
    static int stopAfter(Process p, Path out, int rows, String signal, Path log) throws Exception {
        Path metrics = out.resolve("metrics.jsonl");
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
        while ((!Files.exists(metrics) || Files.readAllLines(metrics).size() < rows) && p.isAlive() && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertTrue(p.isAlive(), "ended before the signal: " + Files.readString(log));
        new ProcessBuilder("kill", "-" + signal, Long.toString(p.pid())).start().waitFor();
        assertTrue(p.waitFor(2, TimeUnit.MINUTES));
        return p.exitValue();
    }

    @Test
    void ctrlCAndSigtermCheckpointAndResumeToTheSameBytes(@TempDir Path dir) throws Exception {
        Path straight = dir.resolve("straight");
        assertEquals(0, CliTest.run(args(straight).toArray(String[]::new)).code());

        Path out = dir.resolve("stopped");
        Pattern stoppedAt = Pattern.compile("stopped at step (\\d+) of 24; (\\S+) holds it\\. Continue with:\\n  gemma-lora (train .*--resume)\\n");
        String resume = null;
        int lastStep = 0;
        for (String signal : List.of("INT", "TERM")) {
            Path log = dir.resolve(signal + ".log");
            Process p = ChildJvm.start(resume == null ? args(out) : List.of(resume.split(" ")), log);
            assertEquals(130, stopAfter(p, out, lastStep + 2, signal, log), Files.readString(log));
            Matcher m = stoppedAt.matcher(Files.readString(log));
            assertTrue(m.find(), Files.readString(log));
            int step = Integer.parseInt(m.group(1));
            assertTrue(step > lastStep && step < 24, "stopped at " + step);
            assertTrue(Files.isRegularFile(out.resolve("checkpoint-" + step).resolve("optimizer.safetensors")), "the checkpoint of step " + step);
            assertFalse(Files.exists(out.resolve("final")));
            resume = m.group(3);
            lastStep = step;
        }
        CliTest.Run rest = CliTest.run(resume.split(" "));
        assertEquals(0, rest.code(), rest.err());
        for (String f : List.of("final/adapter_model.safetensors", "metrics.jsonl")) {
            if (f.endsWith(".safetensors")) {
                assertArrayEquals(Files.readAllBytes(straight.resolve(f)), Files.readAllBytes(out.resolve(f)), f);
            } else {
                assertEquals(Files.readAllLines(straight.resolve(f)).size(), Files.readAllLines(out.resolve(f)).size(), f);
            }
        }
    }

    @Test
    void aSecondCtrlCStopsAtOnce(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("run");
        Path log = dir.resolve("log");
        // Steps of 8 micro-batches: the second signal lands while the first waits for the step to end.
        List<String> slow = args(out);
        slow.set(slow.indexOf("--grad-accum") + 1, "8");
        Process p = ChildJvm.start(slow, log);
        Path metrics = out.resolve("metrics.jsonl");
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
        while ((!Files.exists(metrics) || Files.readAllLines(metrics).isEmpty()) && p.isAlive() && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        new ProcessBuilder("kill", "-INT", Long.toString(p.pid())).start().waitFor();
        // Signals are not queued: a second one sent before the JVM took the first would merge with it.
        while (!Files.readString(log).contains("stopping:") && p.isAlive() && System.nanoTime() < deadline) {
            Thread.sleep(1);
        }
        new ProcessBuilder("kill", "-INT", Long.toString(p.pid())).start().waitFor();
        assertTrue(p.waitFor(1, TimeUnit.MINUTES));
        assertEquals(130, p.exitValue(), Files.readString(log));
        assertTrue(Files.readString(log).contains("stopped at once"), Files.readString(log));
    }
}
