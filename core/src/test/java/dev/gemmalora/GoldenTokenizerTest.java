package dev.gemmalora;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gemmalora.data.AlpacaRecord;
import dev.gemmalora.data.PromptFormat;
import dev.gemmalora.data.TrainingExample;
import dev.gemmalora.io.Json;
import dev.gemmalora.tokenizer.ChatTemplate;
import dev.gemmalora.tokenizer.HfTokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The real Gemma tokenizer against tokenizers 0.23 outputs: every case must match exactly. */
public class GoldenTokenizerTest {
    static HfTokenizer tok;

    @BeforeAll
    static void load() {
        tok = HfTokenizer.load(GoldenPaths.tokenizer());
    }

    @AfterAll
    static void close() {
        tok.close();
    }

    public static List<JsonNode> lines(Path file) throws IOException {
        List<JsonNode> out = new ArrayList<>();
        for (String line : Files.readAllLines(file)) {
            if (!line.isBlank()) {
                out.add(Json.MAPPER.readTree(line));
            }
        }
        return out;
    }

    public static int[] ints(JsonNode arr) {
        int[] out = new int[arr.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = arr.get(i).asInt();
        }
        return out;
    }

    @Test
    void everyTokenizerCaseMatches() throws IOException {
        List<JsonNode> cases = lines(GoldenPaths.goldenRoot().resolve("tokenizer/tokenizer_cases.jsonl"));
        assertEquals(6719, cases.size());
        for (int i = 0; i < cases.size(); i++) {
            JsonNode c = cases.get(i);
            String text = c.get("text").asText();
            int[] ids = ints(c.get("ids"));
            assertArrayEquals(ids, tok.encode(text, false), "case " + i + " ids");
            assertArrayEquals(ints(c.get("ids_with_special")), tok.encode(text, true), "case " + i + " ids_with_special");
            assertEquals(c.get("decoded").asText(), tok.decode(ids, false), "case " + i + " decoded");
        }
    }

    @Test
    void recipeFormattingReproducesEverySeedProcessFuncCase() throws IOException {
        List<JsonNode> cases = lines(GoldenPaths.goldenRoot().resolve("tokenizer/seed_process_func_cases.jsonl"));
        assertEquals(300, cases.size());
        for (int i = 0; i < cases.size(); i++) {
            JsonNode ex = cases.get(i).get("example");
            AlpacaRecord r = new AlpacaRecord(ex.get("instruction").asText(), ex.get("input").asText(), ex.get("output").asText());
            TrainingExample t = PromptFormat.RECIPE.encode(tok, r, 384, 0);
            assertArrayEquals(ints(cases.get(i).get("input_ids")), t.ids(), "case " + i + " input_ids");
            assertArrayEquals(ints(cases.get(i).get("attention_mask")), t.mask(), "case " + i + " attention_mask");
            assertArrayEquals(ints(cases.get(i).get("labels")), t.labels(), "case " + i + " labels");
        }
    }

    @Test
    void everyChatTemplateCaseMatches() throws IOException {
        for (JsonNode c : lines(GoldenPaths.goldenRoot().resolve("tokenizer/chat_template_cases.jsonl"))) {
            List<ChatTemplate.Message> msgs = new ArrayList<>();
            c.get("messages").forEach(m -> msgs.add(new ChatTemplate.Message(m.get("role").asText(), m.get("content").asText())));
            boolean gen = c.get("add_generation_prompt").asBoolean();
            assertEquals(c.get("text").asText(), ChatTemplate.render(msgs, gen));
            assertArrayEquals(ints(c.get("ids")), ChatTemplate.encode(tok, msgs, gen));
        }
    }
}
