package dev.gemmalora.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gemmalora.GoldenPaths;
import dev.gemmalora.io.OutputLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** One writer per output folder, across real processes. */
class OutputLockTest {
    static List<String> trainArgs(Path out) {
        return TrainArgs.of(out, 500, 1);
    }

    /**
     * A train started while another runs on the same --output is refused and told the first's pid;
     * once the first is killed with SIGKILL, its lock is gone with it.
     */
    @Test
    void aSecondTrainIsRefusedAndAKilledOneBlocksNothing(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("run");
        Process first = ChildJvm.start(trainArgs(out), dir.resolve("first.log"));
        try {
            long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
            while (!Files.isDirectory(out.resolve("checkpoint-1")) && first.isAlive() && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertTrue(first.isAlive(), Files.readString(dir.resolve("first.log")));
            CliTest.Run second = CliTest.run(trainArgs(out).toArray(String[]::new));
            assertEquals(2, second.code(), second.err());
            assertTrue(second.err().startsWith("error: " + out + ": in use by another gemma-lora process (pid " + first.pid() + " on "),
                    second.err());
            assertTrue(second.err().contains("gemma-lora train since "), second.err());
            first.destroyForcibly().waitFor();
        } finally {
            first.destroyForcibly();
        }
        try (OutputLock _ = OutputLock.inside(out, "test")) {
            assertTrue(Files.isDirectory(out.resolve("checkpoint-1")));
        }
    }

    @Test
    void evalAndMergeWaitForTheirOutputsWriter(@TempDir Path dir) throws Exception {
        Path evalOut = dir.resolve("eval");
        Path merged = dir.resolve("merged");
        try (OutputLock _ = OutputLock.inside(evalOut, "test"); OutputLock __ = OutputLock.beside(merged, "test")) {
            CliTest.Run eval = CliTest.run("eval", "truthfulqa", "--model", GoldenPaths.mc().resolve("model").toString(),
                    "--tokenizer", GoldenPaths.tokenizer().toString(), "--data", GoldenPaths.shared().resolve("data/truthfulqa").toString(),
                    "--limit", "2", "--output", evalOut.toString());
            assertEquals(2, eval.code(), eval.err());
            assertTrue(eval.err().startsWith("error: " + evalOut + ": in use by another gemma-lora process (pid "
                    + ProcessHandle.current().pid()), eval.err());
            CliTest.Run merge = CliTest.run("merge", "--model", GoldenPaths.t1().resolve("model").toString(),
                    "--adapter", GoldenPaths.t1().resolve("adapter").toString(), "--output", merged.toString());
            assertEquals(2, merge.code(), merge.err());
            assertTrue(merge.err().startsWith("error: " + merged + ": in use by another gemma-lora process"), merge.err());
            assertTrue(!Files.exists(merged), "merge wrote nothing");
        }
        assertEquals(0, CliTest.run("merge", "--model", GoldenPaths.t1().resolve("model").toString(),
                "--adapter", GoldenPaths.t1().resolve("adapter").toString(), "--output", merged.toString()).code());
    }
}
