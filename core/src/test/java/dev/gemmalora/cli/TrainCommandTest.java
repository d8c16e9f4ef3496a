package dev.gemmalora.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gemmalora.GoldenPaths;
import dev.gemmalora.io.Json;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrainCommandTest {
    /** The command line of a small run on the t3 model; extra options replace the defaults given here. */
    private static String[] args(Path out, String... extra) {
        Map<String, String> opts = new LinkedHashMap<>();
        opts.put("--model", GoldenPaths.mc().resolve("model").toString());
        opts.put("--tokenizer", GoldenPaths.tokenizer().toString());
        opts.put("--data", GoldenPaths.shared().resolve("data/instructions/gsm8k_train.alpaca.json").toString());
        opts.put("--output", out.toString());
        opts.put("--max-samples", "24");
        opts.put("--max-length", "96");
        opts.put("--batch-size", "2");
        opts.put("--grad-accum", "2");
        opts.put("--lr", "1e-2");
        opts.put("--logging-steps", "1");
        List<String> flags = new ArrayList<>();
        for (int i = 0; i < extra.length; i++) {
            if (i + 1 < extra.length && !extra[i + 1].startsWith("--")) {
                opts.put(extra[i], extra[++i]);
            } else {
                flags.add(extra[i]);
            }
        }
        List<String> a = new ArrayList<>(List.of("train"));
        opts.forEach((k, v) -> {
            a.add(k);
            a.add(v);
        });
        a.addAll(flags);
        return a.toArray(String[]::new);
    }

    /**
     * A checkpoint damaged after it was written, by a flipped byte or a truncated file: --resume
     * names it, falls back to the one before, and still ends with the straight run's bytes.
     */
    @Test
    void aDamagedCheckpointIsNamedAndThePreviousOneResumes(@TempDir Path dir) throws Exception {
        Path straight = dir.resolve("straight");
        assertEquals(0, CliTest.run(args(straight, "--max-steps", "6", "--save-steps", "2")).code());
        assertTrue(Files.isRegularFile(straight.resolve("checkpoint-6/manifest.json")));
        for (String damage : List.of("flip", "truncate")) {
            Path run = dir.resolve(damage);
            Files.createDirectories(run);
            for (String ckpt : List.of("checkpoint-4", "checkpoint-6")) {
                copyTree(straight.resolve(ckpt), run.resolve(ckpt));
            }
            Path hurt = run.resolve("checkpoint-6").resolve(damage.equals("flip") ? "optimizer.safetensors" : "adapter_model.safetensors");
            byte[] bytes = Files.readAllBytes(hurt);
            if (damage.equals("flip")) {
                bytes[bytes.length / 2] ^= 0x10;
                Files.write(hurt, bytes);
            } else {
                Files.write(hurt, java.util.Arrays.copyOf(bytes, bytes.length - 100));
            }
            CliTest.Run r = CliTest.run(args(run, "--max-steps", "6", "--save-steps", "2", "--resume"));
            assertEquals(0, r.code(), r.err());
            assertTrue(r.err().contains("warning: " + run.resolve("checkpoint-6") + " is damaged: " + hurt.getFileName()), r.err());
            assertTrue(r.out().contains("resuming from " + run.resolve("checkpoint-4")), r.out());
            assertArrayEquals(Files.readAllBytes(straight.resolve("final/adapter_model.safetensors")),
                    Files.readAllBytes(run.resolve("final/adapter_model.safetensors")), damage);
        }
        Path none = dir.resolve("none");
        copyTree(straight.resolve("checkpoint-6"), Files.createDirectories(none).resolve("checkpoint-6"));
        Files.delete(none.resolve("checkpoint-6/trainer_state.json"));
        Files.writeString(none.resolve("checkpoint-6/trainer_state.json"), "{}");
        CliTest.Run r = CliTest.run(args(none, "--max-steps", "6", "--save-steps", "2", "--resume"));
        assertEquals(2, r.code());
        assertTrue(r.err().contains("every checkpoint is damaged"), r.err());
    }

    private static void copyTree(Path from, Path to) throws Exception {
        try (Stream<Path> s = Files.walk(from)) {
            for (Path p : s.toList()) {
                Files.copy(p, to.resolve(from.relativize(p).toString()));
            }
        }
    }

    /** 6 steps straight, and the same run interrupted after its step-3 checkpoint then resumed, give identical files. */
    @Test
    void resumedRunWritesTheSameAdapterBytes(@TempDir Path dir) throws Exception {
        Path straight = dir.resolve("straight");
        CliTest.Run a = CliTest.run(args(straight, "--max-steps", "6", "--save-steps", "3"));
        assertEquals(0, a.code(), a.err());
        for (String f : List.of("final/adapter_model.safetensors", "final/adapter_config.json", "checkpoint-3/optimizer.safetensors",
                "checkpoint-3/trainer_state.json", "checkpoint-6/adapter_model.safetensors", "metrics.jsonl", "loss_curve.png")) {
            assertTrue(Files.isRegularFile(straight.resolve(f)), f);
        }
        List<String> rows = Files.readAllLines(straight.resolve("metrics.jsonl"));
        assertEquals(6, rows.size());
        JsonNode row = Json.MAPPER.readTree(rows.get(5));
        assertEquals(6, row.get("step").asInt());
        assertTrue(row.get("tokens_per_s").asDouble() > 0 && row.get("loss").asDouble() > 0);
        JsonNode state = Json.read(straight.resolve("checkpoint-3/trainer_state.json"));
        assertEquals(3, state.get("global_step").asInt());
        assertEquals(3, state.at("/optimizer/step").asInt());

        // The crash: only checkpoint-3 and the first three metric rows survive.
        Path resumed = dir.resolve("resumed");
        Files.createDirectories(resumed);
        copyTree(straight.resolve("checkpoint-3"), resumed.resolve("checkpoint-3"));
        Files.write(resumed.resolve("metrics.jsonl"), rows.subList(0, 3));
        Files.createDirectories(resumed.resolve(".checkpoint-6.tmp"));
        CliTest.Run b = CliTest.run(args(resumed, "--max-steps", "6", "--save-steps", "3", "--resume"));
        assertEquals(0, b.code(), b.err());
        assertTrue(b.out().contains("resuming from") && b.out().contains("step 3"), b.out());
        assertArrayEquals(Files.readAllBytes(straight.resolve("final/adapter_model.safetensors")),
                Files.readAllBytes(resumed.resolve("final/adapter_model.safetensors")));
        assertArrayEquals(Files.readAllBytes(straight.resolve("checkpoint-6/optimizer.safetensors")),
                Files.readAllBytes(resumed.resolve("checkpoint-6/optimizer.safetensors")));
        List<String> after = Files.readAllLines(resumed.resolve("metrics.jsonl"));
        assertEquals(6, after.size());
        assertTrue(Json.MAPPER.readTree(after.get(3)).get("elapsed_s").asDouble() > Json.MAPPER.readTree(after.get(2)).get("elapsed_s").asDouble(),
                "elapsed_s goes on from the resumed run's last row");
        assertFalse(Files.exists(resumed.resolve(".checkpoint-6.tmp")));
    }

    @Test
    void examplesCutBeforeTheirResponseAreReported(@TempDir Path dir) throws Exception {
        CliTest.Run none = CliTest.run(args(dir.resolve("none"), "--max-length", "8", "--max-steps", "1"));
        assertEquals(2, none.code());
        assertTrue(none.err().contains("no example keeps a response token within --max-length 8"), none.err());

        Path data = dir.resolve("two.json");
        Files.writeString(data, "[{\"instruction\": \"Say yes.\", \"input\": \"\", \"output\": \"Yes.\"},"
                + " {\"instruction\": \"" + "Repeat after me: words. ".repeat(30) + "\", \"input\": \"\", \"output\": \"No.\"}]");
        CliTest.Run some = CliTest.run(args(dir.resolve("some"), "--data", data.toString(), "--max-length", "48", "--max-steps", "1"));
        assertEquals(0, some.code(), some.err());
        assertTrue(some.err().contains("warning: 1 of 2 examples keep no response token within --max-length 48"), some.err());
    }

    @Test
    void finalAdapterHasPeftLayoutAndTheRequestedSettings(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("run");
        CliTest.Run r = CliTest.run(args(out, "--max-steps", "2", "--lora-r", "4", "--lora-alpha", "16", "--rslora",
                "--target-modules", "q_proj,v_proj", "--no-gradient-checkpointing", "--format", "chat"));
        assertEquals(0, r.code(), r.err());
        JsonNode cfg = Json.read(out.resolve("final/adapter_config.json"));
        assertEquals(4, cfg.get("r").asInt());
        assertEquals(16, cfg.get("lora_alpha").asInt());
        assertTrue(cfg.get("use_rslora").asBoolean());
        assertEquals("[\"q_proj\",\"v_proj\"]", cfg.get("target_modules").toString());
        var tensors = dev.gemmalora.io.SafeTensorsFile.open(out.resolve("final/adapter_model.safetensors")).tensors();
        assertEquals(2 * 2 * 2, tensors.size());
        assertEquals("[4, 16]", java.util.Arrays.toString(
                tensors.get("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight").shape()));
    }

    @Test
    void existingRunIsNotOverwrittenWithoutResume(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("run");
        assertEquals(0, CliTest.run(args(out, "--max-steps", "1")).code());
        CliTest.Run again = CliTest.run(args(out, "--max-steps", "1"));
        assertEquals(2, again.code());
        assertTrue(again.err().startsWith("error: " + out + ": already holds a training run; pass --resume"), again.err());
    }

    @Test
    void resumeOnOtherDataIsRefused(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("run");
        assertEquals(0, CliTest.run(args(out, "--max-steps", "2", "--save-steps", "1")).code());
        Files.delete(out.resolve("final/adapter_model.safetensors"));
        CliTest.Run r = CliTest.run(args(out, "--max-steps", "4", "--save-steps", "1", "--resume", "--max-samples", "20"));
        assertEquals(2, r.code());
        assertTrue(r.err().contains("trained on other data"), r.err());
    }

    /** A huge learning rate overflows the weights; the run stops on the NaN loss and keeps the last checkpoint. */
    @Test
    void nonFiniteLossStopsAndKeepsTheLastCheckpoint(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("run");
        CliTest.Run r = CliTest.run(args(out, "--max-steps", "5", "--save-steps", "1", "--lr", "1e38", "--max-grad-norm", "0"));
        assertEquals(1, r.code());
        String last = r.err().lines().filter(l -> l.startsWith("error:")).findFirst().orElse("");
        assertTrue(last.matches("error: loss became (NaN|Infinity) at step \\d; training stopped\\. The last good checkpoint is .*checkpoint-\\d.*"), r.err());
        assertFalse(Files.exists(out.resolve("final")));
        assertNotEquals(0, Files.size(out.resolve("checkpoint-1/adapter_model.safetensors")));
    }
}
