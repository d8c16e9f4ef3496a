package dev.gemmalora.tokenizer;

import dev.gemmalora.io.InputException;
import dev.gemmalora.io.Json;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Gemma's chat templates (tokenizer_config.json "chat_template"), rendered in Java: bos, then each
 * turn as &lt;start_of_turn&gt;role\n{content stripped}&lt;end_of_turn&gt;\n with "assistant" named
 * "model"; roles must alternate starting with the user. Gemma 1 and 2 refuse a system turn; Gemma 3
 * puts its text and a blank line at the start of the first user turn.
 */
public final class ChatTemplate {
    public record Message(String role, String content) {
    }

    /** The two templates the Gemma tokenizers ship. */
    public enum Style {
        /** Gemma 1 and 2: no system role. */
        GEMMA,
        /** Gemma 3: a system turn is folded into the first user turn. */
        GEMMA3;

        /**
         * The style of the chat template beside a tokenizer_config.json: its chat_template, or the
         * chat_template.jinja or chat_template.json that newer repositories keep apart. Gemma 3's
         * sets first_user_prefix; GEMMA when there is none.
         */
        public static Style of(Path tokenizerConfig) {
            return template(tokenizerConfig).contains("first_user_prefix") ? GEMMA3 : GEMMA;
        }

        private static String template(Path tokenizerConfig) {
            try {
                Path dir = tokenizerConfig.toAbsolutePath().getParent();
                if (Files.isRegularFile(tokenizerConfig) && Json.read(tokenizerConfig).path("chat_template").isTextual()) {
                    return Json.read(tokenizerConfig).get("chat_template").asText();
                }
                if (Files.isRegularFile(dir.resolve("chat_template.jinja"))) {
                    return Files.readString(dir.resolve("chat_template.jinja"));
                }
                if (Files.isRegularFile(dir.resolve("chat_template.json"))) {
                    return Json.read(dir.resolve("chat_template.json")).path("chat_template").asText("");
                }
            } catch (InputException | java.io.IOException e) {
                // An unreadable template: the model's own files will fail louder; Gemma's rules apply.
            }
            return "";
        }
    }

    private ChatTemplate() {
    }

    public static String render(List<Message> messages, boolean addGenerationPrompt) {
        return render(messages, addGenerationPrompt, Style.GEMMA);
    }

    public static String render(List<Message> messages, boolean addGenerationPrompt, Style style) {
        StringBuilder sb = new StringBuilder("<bos>");
        String firstUserPrefix = "";
        if (!messages.isEmpty() && messages.get(0).role().equals("system")) {
            if (style == Style.GEMMA) {
                throw new InputException("chat template: System role not supported");
            }
            firstUserPrefix = messages.get(0).content() + "\n\n";
            messages = messages.subList(1, messages.size());
        }
        for (int i = 0; i < messages.size(); i++) {
            Message m = messages.get(i);
            if (m.role().equals("user") != (i % 2 == 0)) {
                throw new InputException("chat template: Conversation roles must alternate user/assistant/user/assistant/...");
            }
            String role = m.role().equals("assistant") ? "model" : m.role();
            sb.append("<start_of_turn>").append(role).append('\n').append(i == 0 ? firstUserPrefix : "")
                    .append(PythonText.strip(m.content())).append("<end_of_turn>\n");
        }
        if (addGenerationPrompt) {
            sb.append("<start_of_turn>model\n");
        }
        return sb.toString();
    }

    /** Ids of the rendered conversation; the template already holds &lt;bos&gt;, so none is added. */
    public static int[] encode(Tokenizer tokenizer, List<Message> messages, boolean addGenerationPrompt) {
        return tokenizer.encode(render(messages, addGenerationPrompt, tokenizer.chatStyle()), false);
    }
}
