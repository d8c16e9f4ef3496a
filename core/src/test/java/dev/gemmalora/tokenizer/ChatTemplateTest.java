package dev.gemmalora.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gemmalora.GoldenPaths;
import dev.gemmalora.GoldenTokenizerTest;
import dev.gemmalora.io.InputException;
import dev.gemmalora.io.Json;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The chat template each Gemma tokenizer ships, told apart by its tokenizer_config.json. */
class ChatTemplateTest {
    @Test
    void gemma3PromptsAreTransformersIds() {
        try (HfTokenizer tok = HfTokenizer.load(GoldenPaths.shared().resolve("tokenizers/gemma3"))) {
            assertEquals(ChatTemplate.Style.GEMMA3, tok.chatStyle());
            for (JsonNode c : Json.read(GoldenPaths.goldenRoot().resolve("g3mc/chat_greedy_adapter.json"))) {
                int[] ids = ChatTemplate.encode(tok, List.of(new ChatTemplate.Message("user", c.get("question").asText())), true);
                assertArrayEquals(GoldenTokenizerTest.ints(c.get("prompt_ids")), ids, c.get("question").asText());
            }
        }
        try (HfTokenizer tok = HfTokenizer.load(GoldenPaths.shared().resolve("tokenizers/gemma"))) {
            assertEquals(ChatTemplate.Style.GEMMA, tok.chatStyle());
        }
    }

    /** Gemma 3's template puts the system text and a blank line before the first user turn's (stripped) text; Gemma 2's refuses it. */
    @Test
    void aSystemTurnIsFoldedByGemma3AndRefusedByGemma2() {
        List<ChatTemplate.Message> conversation = List.of(new ChatTemplate.Message("system", "Be brief. "),
                new ChatTemplate.Message("user", "  Hi "), new ChatTemplate.Message("assistant", "Hello."),
                new ChatTemplate.Message("user", "Bye"));
        assertEquals("<bos><start_of_turn>user\nBe brief. \n\nHi<end_of_turn>\n<start_of_turn>model\nHello.<end_of_turn>\n"
                + "<start_of_turn>user\nBye<end_of_turn>\n<start_of_turn>model\n", ChatTemplate.render(conversation, true, ChatTemplate.Style.GEMMA3));
        String refused = assertThrows(InputException.class, () -> ChatTemplate.render(conversation, true, ChatTemplate.Style.GEMMA)).getMessage();
        assertTrue(refused.contains("System role not supported"), refused);
    }
}
