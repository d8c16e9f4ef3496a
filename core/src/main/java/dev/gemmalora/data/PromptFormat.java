package dev.gemmalora.data;

import dev.gemmalora.tokenizer.ChatTemplate;
import dev.gemmalora.tokenizer.Tokenizer;
import java.util.Arrays;
import java.util.List;

/** How an Alpaca record becomes token ids and labels. */
public enum PromptFormat {
    /**
     * The reference recipe: instruction and input joined with nothing between, a Gemma turn
     * prompt, the output with &lt;end_of_turn&gt;\n, then one pad token that is also a label.
     */
    RECIPE,
    /** Instruction and input joined by a blank line, rendered by the tokenizer's chat template. */
    CHAT;

    public TrainingExample encode(Tokenizer tok, AlpacaRecord r, int maxLength, int padId) {
        int[] prompt;
        int[] response;
        if (this == RECIPE) {
            prompt = tok.encode("<bos><start_of_turn>user\n" + r.instruction() + r.input()
                    + "<end_of_turn>\n<start_of_turn>model\n", false);
            response = tok.encode(r.output() + "<end_of_turn>\n", false);
        } else {
            String user = r.input().isEmpty() ? r.instruction() : r.instruction() + "\n\n" + r.input();
            prompt = ChatTemplate.encode(tok, List.of(new ChatTemplate.Message("user", user)), true);
            response = tok.encode(r.output() + "<end_of_turn>\n", false);
        }
        int n = prompt.length + response.length + 1;
        int[] ids = new int[n];
        int[] labels = new int[n];
        System.arraycopy(prompt, 0, ids, 0, prompt.length);
        System.arraycopy(response, 0, ids, prompt.length, response.length);
        ids[n - 1] = padId;
        Arrays.fill(labels, 0, prompt.length, -100);
        System.arraycopy(response, 0, labels, prompt.length, response.length);
        labels[n - 1] = padId;
        int keep = Math.min(n, maxLength);
        int[] mask = new int[keep];
        Arrays.fill(mask, 1);
        return new TrainingExample(Arrays.copyOf(ids, keep), mask, Arrays.copyOf(labels, keep));
    }
}
