package dev.gemmalora.tokenizer;

/** Text to token ids and back; the rest of the code sees only this. */
public interface Tokenizer {
    /** Token ids of text; with addSpecialTokens the tokenizer's post-processor adds &lt;bos&gt;. */
    int[] encode(String text, boolean addSpecialTokens);

    String decode(int[] ids, boolean skipSpecialTokens);

    /** The id of a token string such as "&lt;end_of_turn&gt;", or -1 if the vocabulary lacks it. */
    int tokenId(String token);

    /** Which Gemma chat template its tokenizer_config.json holds. */
    default ChatTemplate.Style chatStyle() {
        return ChatTemplate.Style.GEMMA;
    }
}
