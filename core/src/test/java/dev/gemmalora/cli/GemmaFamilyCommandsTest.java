package dev.gemmalora.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gemmalora.GoldenPaths;
import dev.gemmalora.GoldenTokenizerTest;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gemmalora.io.Json;
import dev.gemmalora.io.SafeTensorsFile;
import dev.gemmalora.io.SafeTensorsWriter;
import dev.gemmalora.io.TensorData;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every command on each generation with a real vocabulary: Gemma 3 (the g3mc fixture, its own 262k
 * tokenizer and chat template) and Gemma 1 (the quickstart's tiny model rewritten as Gemma 1: two
 * norms a layer, the Hub's config keys).
 */
class GemmaFamilyCommandsTest {
    private static final Path MODEL = GoldenPaths.goldenRoot().resolve("g3mc/model");
    private static final Path TOKENIZER = GoldenPaths.shared().resolve("tokenizers/gemma3");

    @Test
    void gemma3TrainsChatsEvaluatesMergesAndInspects(@TempDir Path dir) throws Exception {
        everyCommand(dir, MODEL, TOKENIZER, "gemma3_text");
    }

    @Test
    void gemma1TrainsChatsEvaluatesMergesAndInspects(@TempDir Path dir) throws Exception {
        Path model = Files.createDirectories(dir.resolve("gemma-1"));
        ObjectNode config = (ObjectNode) Json.MAPPER.readTree(getClass().getResourceAsStream("/dev/gemmalora/quickstart/config.json"));
        config.put("model_type", "gemma");
        config.putArray("architectures").add("GemmaForCausalLM");
        config.put("hidden_act", "gelu");
        for (String gemma2Only : List.of("hidden_activation", "query_pre_attn_scalar", "sliding_window", "attn_logit_softcapping",
                "final_logit_softcapping")) {
            config.remove(gemma2Only);
        }
        Files.writeString(model.resolve("config.json"), Json.write(config));
        Path weights = dir.resolve("gemma2.safetensors");
        try (InputStream in = getClass().getResourceAsStream("/dev/gemmalora/quickstart/model.safetensors")) {
            Files.copy(in, weights);
        }
        List<TensorData> kept = SafeTensorsFile.open(weights).tensors().values().stream()
                .filter(t -> !t.name().contains("feedforward_layernorm")).toList();
        SafeTensorsWriter.write(model.resolve("model.safetensors"), kept, Map.of("format", "pt"));
        everyCommand(dir, model, GoldenPaths.tokenizer(), "gemma");
    }

    private static void everyCommand(Path dir, Path model, Path tokenizer, String modelType) throws Exception {
        Path run = dir.resolve("train");
        CliTest.Run train = CliTest.run("train", "--model", model.toString(), "--tokenizer", tokenizer.toString(), "--data",
                GoldenPaths.shared().resolve("data/instructions/gsm8k_train.alpaca.json").toString(), "--format", "chat",
                "--max-samples", "8", "--max-length", "64", "--batch-size", "2", "--grad-accum", "1", "--max-steps", "2",
                "--output", run.toString());
        assertEquals(0, train.code(), train.err());
        Path adapter = run.resolve("final");
        assertTrue(SafeTensorsFile.open(adapter.resolve("adapter_model.safetensors")).tensors().keySet().stream()
                .allMatch(n -> n.startsWith("base_model.model.model.layers.")));

        Path prompts = dir.resolve("prompts.jsonl");
        // A system turn: Gemma 3's template takes it, Gemma 1's refuses it (as transformers does).
        String system = modelType.startsWith("gemma3") ? "{\"role\": \"system\", \"content\": \"Answer briefly.\"}, " : "";
        Files.writeString(prompts, "{\"messages\": [" + system + "{\"role\": \"user\", \"content\": \"Name a colour.\"}]}\n"
                + "{\"prompt\": \"Hi\"}\n");
        CliTest.Run generate = CliTest.run("generate", "--model", model.toString(), "--tokenizer", tokenizer.toString(), "--adapter",
                adapter.toString(), "--prompts", prompts.toString(), "--output", dir.resolve("out.jsonl").toString(),
                "--max-new-tokens", "4", "--temperature", "0");
        assertEquals(0, generate.code(), generate.err());
        List<JsonNode> rows = GoldenTokenizerTest.lines(dir.resolve("out.jsonl"));
        assertEquals(2, rows.size());

        CliTest.Run eval = CliTest.run("eval", "truthfulqa", "--model", model.toString(), "--tokenizer", tokenizer.toString(),
                "--adapter", adapter.toString(), "--data", GoldenPaths.shared().resolve("data/truthfulqa").toString(), "--limit", "2",
                "--output", dir.resolve("eval").toString());
        assertEquals(0, eval.code(), eval.err());
        assertTrue(Files.isRegularFile(dir.resolve("eval/train/summary.json")), eval.out());

        Path merged = dir.resolve("merged");
        assertEquals(0, CliTest.run("merge", "--model", model.toString(), "--tokenizer", tokenizer.toString(), "--adapter", adapter.toString(), "--output",
                merged.toString()).code());
        CliTest.Run inspect = CliTest.run("inspect", "--model", merged.toString(), "--no-tensors");
        assertEquals(0, inspect.code(), inspect.err());
        assertTrue(inspect.out().lines().anyMatch(l -> l.matches("\\s*model_type\\s+" + modelType + "( .*)?")), inspect.out());
    }
}
