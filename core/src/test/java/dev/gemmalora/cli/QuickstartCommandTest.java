package dev.gemmalora.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class QuickstartCommandTest {
    /** The built-in example runs end to end from the jar's resources alone, and says the model is a toy. */
    @Test
    void runsTheWholePipelineOnTheBuiltInExample(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("qs");
        CliTest.Run r = CliTest.run("quickstart", "--output", out.toString(), "--steps", "4", "--questions", "4");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("tiny RANDOM Gemma-2") && r.out().contains("download model google/gemma-2-2b-it"), r.out());
        for (String f : new String[] {"tiny-model/model.safetensors", "tiny-model/tokenizer.json", "train/final/adapter_model.safetensors",
                "train/metrics.jsonl", "train/loss_curve.png", "eval/report.html", "eval/base/summary.json", "eval/train/results.jsonl"}) {
            assertTrue(Files.isRegularFile(out.resolve(f)), f);
        }
        CliTest.Run again = CliTest.run("quickstart", "--output", out.toString());
        assertEquals(2, again.code());
        assertTrue(again.err().contains("already exists"), again.err());
    }
}
