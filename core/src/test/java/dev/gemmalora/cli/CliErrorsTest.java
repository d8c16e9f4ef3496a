package dev.gemmalora.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gemmalora.GoldenPaths;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Each kind of bad input: exit code 2, one line naming the thing and what to do, a stack trace only with --verbose. */
class CliErrorsTest {
    private static final String T1 = GoldenPaths.t1().toString();
    private static final String T3 = GoldenPaths.mc().toString();
    private static final String TOK = GoldenPaths.tokenizer().toString();

    private static void assertOneLine(CliTest.Run r, String expected) {
        assertEquals(2, r.code(), r.err());
        String err = r.err().strip();
        assertEquals(1, err.lines().count(), err);
        assertTrue(err.startsWith("error: ") && err.contains(expected), err);
        assertTrue(!err.contains("Exception") && !err.contains("\tat "), err);
    }

    @Test
    void missingFolderAndMissingFile(@TempDir Path dir) {
        assertOneLine(CliTest.run("train", "--model", dir.resolve("nope").toString(), "--data", "x.json", "--output", dir.resolve("o").toString()),
                "nope: model folder not found");
        assertOneLine(CliTest.run("train", "--model", T3 + "/model", "--tokenizer", TOK, "--data", dir.resolve("none.json").toString(),
                "--output", dir.resolve("o").toString()), "none.json: data file not found");
    }

    @Test
    void truncatedSafetensorsNamesTheFileAndTensor(@TempDir Path dir) throws Exception {
        Path model = dir.resolve("model");
        Files.createDirectories(model);
        Files.copy(Path.of(T1, "model", "config.json"), model.resolve("config.json"));
        byte[] full = Files.readAllBytes(Path.of(T1, "model", "model.safetensors"));
        Files.write(model.resolve("model.safetensors"), Arrays.copyOf(full, full.length - 1000));
        CliTest.Run r = CliTest.run("inspect", "--model", model.toString());
        assertOneLine(r, "model.safetensors");
        assertTrue(r.err().contains("truncated") || r.err().contains("beyond"), r.err());
        CliTest.Run verbose = CliTest.run("inspect", "--model", model.toString(), "--verbose");
        assertTrue(verbose.err().contains("\tat dev.gemmalora"), "stack trace with --verbose");
    }

    @Test
    void evalBatchOfNoQuestions(@TempDir Path dir) {
        assertOneLine(CliTest.run("eval", "truthfulqa", "--model", T3 + "/model", "--tokenizer", TOK, "--data",
                GoldenPaths.shared().resolve("data/truthfulqa").toString(), "--tasks", "mc1", "--batch", "0",
                "--output", dir.resolve("e").toString()), "--batch: 0, expected at least 1 question per batch");
    }

    @Test
    void adapterForAnotherModel(@TempDir Path dir) {
        assertOneLine(CliTest.run("merge", "--model", T3 + "/model", "--adapter", T1 + "/adapter", "--output", dir.resolve("m").toString()),
                "an adapter for another model?");
    }

    @Test
    void dataFileWithABadRecord(@TempDir Path dir) throws Exception {
        Path data = dir.resolve("bad.json");
        Files.writeString(data, "[{\"instruction\":\"a\",\"output\":\"b\"},{\"instruction\":\"c\",\"output\":7}]");
        assertOneLine(CliTest.run("train", "--model", T3 + "/model", "--tokenizer", TOK, "--data", data.toString(),
                "--output", dir.resolve("o").toString()), "bad.json: record 1 field 'output' is NUMBER, expected a string");
    }

    @Test
    void outputThatWouldBeOverwritten(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("merged");
        Files.createDirectories(out);
        Files.writeString(out.resolve("keep.txt"), "mine");
        assertOneLine(CliTest.run("merge", "--model", T1 + "/model", "--adapter", T1 + "/adapter", "--output", out.toString()),
                "merged: folder exists and is not empty; choose a new --output");
        assertEquals("mine", Files.readString(out.resolve("keep.txt")));
    }

    @Test
    void badOptionValues(@TempDir Path dir) {
        assertOneLine(CliTest.run("eval", "truthfulqa", "--model", T3 + "/model", "--tokenizer", TOK, "--data",
                GoldenPaths.shared().resolve("data/truthfulqa").toString(), "--tasks", "mc3", "--output", dir.toString()), "unknown task 'mc3'");
        assertOneLine(CliTest.run("merge", "--model", T1 + "/model", "--adapter", T1 + "/adapter", "--output", dir.resolve("x").toString(),
                "--max-shard-size", "lots"), "--max-shard-size is 'lots'");
    }
}
