package dev.gemmalora.api;

/** One turn of a conversation: role user, assistant (or model) or system, and its text. */
public record ChatMessage(String role, String content) {
    public static ChatMessage user(String content) {
        return new ChatMessage("user", content);
    }

    public static ChatMessage assistant(String content) {
        return new ChatMessage("assistant", content);
    }
}
