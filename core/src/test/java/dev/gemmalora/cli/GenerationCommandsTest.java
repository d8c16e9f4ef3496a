package dev.gemmalora.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gemmalora.GoldenPaths;
import dev.gemmalora.GoldenTokenizerTest;
import dev.gemmalora.eval.Generator;
import dev.gemmalora.eval.Sampler;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GenerationCommandsTest {
    private static final String MODEL = GoldenPaths.mc().resolve("model").toString();
    private static final String TOKENIZER = GoldenPaths.tokenizer().toString();

    @Test
    void generateAnswersEachPromptOfAFileWithTheAdapter(@TempDir Path dir) throws Exception {
        Path in = dir.resolve("prompts.jsonl");
        Files.writeString(in, "{\"prompt\":\"Name a colour.\",\"id\":7}\n\n{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}\n");
        Path out = dir.resolve("out.jsonl");
        CliTest.Run r = CliTest.run("generate", "--model", MODEL, "--tokenizer", TOKENIZER, "--adapter",
                GoldenPaths.mc().resolve("adapter").toString(), "--prompts", in.toString(), "--output", out.toString(),
                "--max-new-tokens", "5", "--temperature", "0");
        assertEquals(0, r.code(), r.err());
        List<JsonNode> rows = GoldenTokenizerTest.lines(out);
        assertEquals(2, rows.size());
        assertEquals(7, rows.get(0).get("id").asInt());
        assertTrue(rows.get(0).get("tokens").asInt() >= 1 && rows.get(0).has("completion"));
        CliTest.Run again = CliTest.run("generate", "--model", MODEL, "--tokenizer", TOKENIZER, "--prompts", in.toString(),
                "--output", out.toString());
        assertEquals(2, again.code());
        Files.writeString(in, "{\"text\":\"no prompt\"}\n");
        CliTest.Run bad = CliTest.run("generate", "--model", MODEL, "--tokenizer", TOKENIZER, "--prompts", in.toString(),
                "--output", dir.resolve("o2.jsonl").toString());
        assertEquals(2, bad.code());
        assertTrue(bad.err().contains("prompts.jsonl: line 1 needs a \"prompt\" string"), bad.err());
    }

    /** Prompts answered together get the completions they get one at a time, sampled ones included. */
    @Test
    void batchingDoesNotChangeCompletions(@TempDir Path dir) throws Exception {
        Path in = dir.resolve("prompts.jsonl");
        Files.writeString(in, "{\"prompt\":\"Name a colour.\"}\n{\"prompt\":\"Why is the sky blue? Answer in one short line.\"}\n"
                + "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}\n");
        List<String> completions = null;
        for (String batch : new String[] {"1", "3"}) {
            Path out = dir.resolve("out" + batch + ".jsonl");
            CliTest.Run r = CliTest.run("generate", "--model", MODEL, "--tokenizer", TOKENIZER, "--adapter",
                    GoldenPaths.mc().resolve("adapter").toString(), "--prompts", in.toString(), "--output", out.toString(),
                    "--max-new-tokens", "6", "--temperature", "1.0", "--top-k", "0", "--top-p", "1", "--batch", batch);
            assertEquals(0, r.code(), r.err());
            List<String> got = GoldenTokenizerTest.lines(out).stream().map(n -> n.get("completion").asText()).toList();
            if (completions == null) {
                completions = got;
            } else {
                assertEquals(completions, got, "batch " + batch);
            }
        }
        CliTest.Run bad = CliTest.run("generate", "--model", MODEL, "--tokenizer", TOKENIZER, "--prompts", in.toString(),
                "--output", dir.resolve("o.jsonl").toString(), "--batch", "0");
        assertEquals(2, bad.code());
        assertTrue(bad.err().contains("--batch: 0"), bad.err());
    }

    @Test
    void chatStreamsRepliesResetsAndQuits() {
        InputStream old = System.in;
        System.setIn(new ByteArrayInputStream("Hello there\n/reset\nAgain\n/quit\n".getBytes(StandardCharsets.UTF_8)));
        try {
            CliTest.Run r = CliTest.run("chat", "--model", MODEL, "--tokenizer", TOKENIZER, "--max-new-tokens", "4", "--seed", "1");
            assertEquals(0, r.code(), r.err());
            assertEquals(2, r.out().split("model> ", -1).length - 1, r.out());
            assertTrue(r.out().contains("(conversation cleared)"), r.out());
        } finally {
            System.setIn(old);
        }
    }

    /** Temperature 0 is greedy; top-k 1 is greedy too; a seeded sampler repeats itself. */
    @Test
    void samplerRules() {
        float[] logits = {0.1f, 3f, 2.9f, -1f};
        assertEquals(1, new Sampler(0, 0, 1, 1).pick(logits));
        assertEquals(1, new Sampler(1.5, 1, 1, 1).pick(logits));
        Generator.Picker a = new Sampler(1.0, 0, 0.9, 5);
        Generator.Picker b = new Sampler(1.0, 0, 0.9, 5);
        for (int i = 0; i < 20; i++) {
            int x = a.pick(logits);
            assertEquals(x, b.pick(logits));
            assertTrue(x == 1 || x == 2, "top-p 0.9 keeps the two likely tokens, got " + x);
        }
    }
}
