package dev.gemmalora.tokenizer;

import dev.gemmalora.io.InputException;
import java.util.List;

/**
 * Gemma's chat template (tokenizer_config.json "chat_template"), rendered in Java: bos, then each
 * turn as &lt;start_of_turn&gt;role\n{content stripped}&lt;end_of_turn&gt;\n with "assistant" named
 * "model"; roles must alternate starting with the user; no system role.
 */
public final class ChatTemplate {
    public record Message(String role, String content) {
    }

    private ChatTemplate() {
    }

    public static String render(List<Message> messages, boolean addGenerationPrompt) {
        StringBuilder sb = new StringBuilder("<bos>");
        if (!messages.isEmpty() && messages.get(0).role().equals("system")) {
            throw new InputException("chat template: System role not supported");
        }
        for (int i = 0; i < messages.size(); i++) {
            Message m = messages.get(i);
            if (m.role().equals("user") != (i % 2 == 0)) {
                throw new InputException("chat template: Conversation roles must alternate user/assistant/user/assistant/...");
            }
            String role = m.role().equals("assistant") ? "model" : m.role();
            sb.append("<start_of_turn>").append(role).append('\n').append(PythonText.strip(m.content())).append("<end_of_turn>\n");
        }
        if (addGenerationPrompt) {
            sb.append("<start_of_turn>model\n");
        }
        return sb.toString();
    }

    /** Ids of the rendered conversation; the template already holds &lt;bos&gt;, so none is added. */
    public static int[] encode(Tokenizer tokenizer, List<Message> messages, boolean addGenerationPrompt) {
        return tokenizer.encode(render(messages, addGenerationPrompt), false);
    }
}
