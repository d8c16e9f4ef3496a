package dev.gemmalora.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gemmalora.GoldenPaths;
import dev.gemmalora.GoldenTokenizerTest;
import dev.gemmalora.io.SafeTensorsFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every command on a Gemma 3 checkpoint with its own 262k tokenizer and chat template (the g3mc fixture). */
class GemmaFamilyCommandsTest {
    private static final Path MODEL = GoldenPaths.goldenRoot().resolve("g3mc/model");
    private static final Path TOKENIZER = GoldenPaths.shared().resolve("tokenizers/gemma3");

    @Test
    void gemma3TrainsChatsEvaluatesMergesAndInspects(@TempDir Path dir) throws Exception {
        Path run = dir.resolve("train");
        CliTest.Run train = CliTest.run("train", "--model", MODEL.toString(), "--tokenizer", TOKENIZER.toString(), "--data",
                GoldenPaths.shared().resolve("data/instructions/gsm8k_train.alpaca.json").toString(), "--format", "chat",
                "--max-samples", "8", "--max-length", "64", "--batch-size", "2", "--grad-accum", "1", "--max-steps", "2",
                "--output", run.toString());
        assertEquals(0, train.code(), train.err());
        Path adapter = run.resolve("final");
        assertTrue(SafeTensorsFile.open(adapter.resolve("adapter_model.safetensors")).tensors().keySet().stream()
                .allMatch(n -> n.startsWith("base_model.model.model.layers.")));

        Path prompts = dir.resolve("prompts.jsonl");
        Files.writeString(prompts, "{\"messages\": [{\"role\": \"system\", \"content\": \"Answer briefly.\"},"
                + " {\"role\": \"user\", \"content\": \"Name a colour.\"}]}\n{\"prompt\": \"Hi\"}\n");
        CliTest.Run generate = CliTest.run("generate", "--model", MODEL.toString(), "--tokenizer", TOKENIZER.toString(), "--adapter",
                adapter.toString(), "--prompts", prompts.toString(), "--output", dir.resolve("out.jsonl").toString(),
                "--max-new-tokens", "4", "--temperature", "0");
        assertEquals(0, generate.code(), generate.err());
        List<JsonNode> rows = GoldenTokenizerTest.lines(dir.resolve("out.jsonl"));
        assertEquals(2, rows.size());

        CliTest.Run eval = CliTest.run("eval", "truthfulqa", "--model", MODEL.toString(), "--tokenizer", TOKENIZER.toString(),
                "--adapter", adapter.toString(), "--data", GoldenPaths.shared().resolve("data/truthfulqa").toString(), "--limit", "2",
                "--output", dir.resolve("eval").toString());
        assertEquals(0, eval.code(), eval.err());
        assertTrue(Files.isRegularFile(dir.resolve("eval/train/summary.json")), eval.out());

        Path merged = dir.resolve("merged");
        assertEquals(0, CliTest.run("merge", "--model", MODEL.toString(), "--adapter", adapter.toString(), "--output",
                merged.toString()).code());
        CliTest.Run inspect = CliTest.run("inspect", "--model", merged.toString(), "--no-tensors");
        assertEquals(0, inspect.code(), inspect.err());
        assertTrue(inspect.out().contains("gemma3_text"), inspect.out());
    }
}
