package dev.gemmalora.api;

/** A finished generation: its text, token counts and why it ended. */
public record Completion(String text, int promptTokens, int completionTokens, FinishReason finishReason) {
    /** Why a generation ended. */
    public enum FinishReason {
        /** The model ended its turn (end-of-turn or end-of-sequence token) or a stop string came. */
        STOP,
        /** max_tokens, or the model's context, was reached. */
        LENGTH,
        /** The caller cancelled it (a client that went away, a shutdown). */
        CANCELLED;

        /** The OpenAI API's finish_reason. */
        public String openAiName() {
            return this == STOP ? "stop" : "length";
        }
    }
}
