package dev.gemmalora.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.gemmalora.GoldenPaths;
import dev.gemmalora.train.Checkpoint;
import dev.gemmalora.train.CheckpointManifest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A disk that fills up mid-run: a tmpfs of a few hundred KB (mounting needs root, which CI has;
 * elsewhere these tests are skipped, and say so). The run stops with one line naming what it was
 * writing, what that needs and what is free; what was complete stays complete, and once there is
 * room the same command goes on to the uninterrupted run's result.
 */
class FullDiskTest {
    static Path smallDisk(Path dir, int kb) throws Exception {
        Path m = Files.createDirectories(dir.resolve("disk"));
        Process p = new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=" + kb + "k", "tmpfs", m.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assumeTrue(p.waitFor() == 0, "no small disk to fill: mounting a tmpfs needs root here (" + out.strip() + ")");
        return m;
    }

    static void unmount(Path m) throws Exception {
        new ProcessBuilder("umount", m.toString()).start().waitFor();
    }

    static void copyTree(Path from, Path to) throws Exception {
        try (Stream<Path> s = Files.walk(from)) {
            for (Path p : s.toList()) {
                Path t = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(t);
                } else {
                    Files.copy(p, t);
                }
            }
        }
    }

    @Test
    void trainingOnAFullDiskKeepsItsLastCheckpointAndResumes(@TempDir Path dir) throws Exception {
        Path straight = dir.resolve("straight");
        assertEquals(0, CliTest.run(KillTest.trainArgs(straight).toArray(String[]::new)).code());
        Path disk = smallDisk(dir, 256);
        try {
            Path out = disk.resolve("run");
            CliTest.Run r = CliTest.run(KillTest.trainArgs(out).toArray(String[]::new));
            assertEquals(1, r.code(), r.err());
            String last = r.err().strip().lines().reduce((a, b) -> b).orElse("");
            assertTrue(last.matches("error: writing " + java.util.regex.Pattern.quote(out.toString())
                    + "/(checkpoint-\\d+|metrics\\.jsonl) failed \\(IOException: No space left on device\\); it needs about [0-9.]+ KB,"
                    + " [0-9.]+ KB free there; .*checkpoint-\\d+ is intact: free some space and run the same command with --resume"), last);
            Path kept = Checkpoint.latest(out).orElseThrow();
            assertTrue(CheckpointManifest.damage(kept).isEmpty(), kept + " is whole");
            Path roomy = dir.resolve("roomy");
            copyTree(out, roomy);
            List<String> resume = new ArrayList<>(KillTest.trainArgs(roomy));
            resume.add("--resume");
            CliTest.Run rest = CliTest.run(resume.toArray(String[]::new));
            assertEquals(0, rest.code(), rest.err());
            assertTrue(rest.out().contains("resuming from " + roomy.resolve(kept.getFileName())), rest.out());
            assertArrayEquals(Files.readAllBytes(straight.resolve("final/adapter_model.safetensors")),
                    Files.readAllBytes(roomy.resolve("final/adapter_model.safetensors")));
        } finally {
            unmount(disk);
        }
    }

    @Test
    void evaluationOnAFullDiskKeepsItsRows(@TempDir Path dir) throws Exception {
        List<String> base = List.of("eval", "truthfulqa", "--model", GoldenPaths.mc().resolve("model").toString(),
                "--tokenizer", GoldenPaths.tokenizer().toString(), "--data", GoldenPaths.shared().resolve("data/truthfulqa").toString(),
                "--limit", "40", "--batch", "1", "--output");
        Path straight = dir.resolve("straight");
        List<String> a = new ArrayList<>(base);
        a.add(straight.toString());
        assertEquals(0, CliTest.run(a.toArray(String[]::new)).code());
        Path disk = smallDisk(dir, 24);
        try {
            Path out = disk.resolve("eval");
            List<String> b = new ArrayList<>(base);
            b.add(out.toString());
            CliTest.Run r = CliTest.run(b.toArray(String[]::new));
            assertEquals(1, r.code(), r.err());
            String last = r.err().strip().lines().reduce((x, y) -> y).orElse("");
            assertTrue(last.startsWith("error: writing " + out.resolve("base/results.jsonl") + " failed (IOException: No space left on device)")
                    && last.endsWith("every row written before stays in its results.jsonl: free some space and run the same command to go on"),
                    last);
            Path roomy = dir.resolve("roomy");
            copyTree(out, roomy);
            List<String> c = new ArrayList<>(base);
            c.add(roomy.toString());
            CliTest.Run rest = CliTest.run(c.toArray(String[]::new));
            assertEquals(0, rest.code(), rest.err());
            assertTrue(rest.out().matches("(?s).*base: \\d+ questions already scored.*"), rest.out());
            assertEquals(KillTest.rows(straight.resolve("base/results.jsonl")), KillTest.rows(roomy.resolve("base/results.jsonl")));
        } finally {
            unmount(disk);
        }
    }

    @Test
    void aMergeThatDoesNotFitLeavesNothingUnderItsName(@TempDir Path dir) throws Exception {
        Path disk = smallDisk(dir, 256);
        try {
            Path out = disk.resolve("merged");
            CliTest.Run r = CliTest.run("merge", "--model", GoldenPaths.t1().resolve("model").toString(),
                    "--adapter", GoldenPaths.t1().resolve("adapter").toString(), "--output", out.toString());
            assertEquals(1, r.code(), r.err());
            String last = r.err().strip().lines().reduce((x, y) -> y).orElse("");
            assertTrue(last.startsWith("error: writing " + out + " failed (IOException: No space left on device); it needs about ")
                    && last.endsWith("nothing was written under " + out + ": free some space and run the same command"), last);
            assertTrue(!Files.exists(out), "no merged folder under its final name");
        } finally {
            unmount(disk);
        }
    }

    @Test
    void aGgufExportThatDoesNotFitLeavesNothingUnderItsName(@TempDir Path dir) throws Exception {
        Path model = TinyGemma2.write(dir.resolve("tiny"), 1, 16);
        Path disk = smallDisk(dir, 4096);
        try {
            Path out = disk.resolve("tiny.gguf");
            CliTest.Run r = CliTest.run("export", "gguf", "--model", model.toString(), "--output", out.toString(), "--type", "f32");
            assertEquals(1, r.code(), r.err());
            String last = r.err().strip().lines().reduce((x, y) -> y).orElse("");
            assertTrue(last.startsWith("error: writing " + out + " failed (IOException: No space left on device); it needs about ")
                    && last.endsWith("nothing was written under " + out + ": free some space and run the same command"), last);
            try (Stream<Path> left = Files.list(disk)) {
                assertEquals(List.of(), left.toList(), "neither the file, its Modelfile nor a partial file is left");
            }
        } finally {
            unmount(disk);
        }
    }
}
