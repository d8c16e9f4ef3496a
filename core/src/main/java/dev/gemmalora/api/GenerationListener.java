package dev.gemmalora.api;

/**
 * Told what a generation produces, on the model's decoding thread: keep the calls short. An
 * exception thrown from onText cancels the generation (a client that went away).
 */
public interface GenerationListener {
    /** Its prompt starts running (it leaves the queue for the batch). */
    default void onStart() {
    }

    /** The next piece of text, whole characters only, never past a stop string. */
    default void onText(String piece) {
    }

    /** The generation ended; its text is the concatenation of every piece. */
    default void onFinish(Completion completion) {
    }

    /** Decoding failed; the generation is over. */
    default void onError(RuntimeException error) {
    }
}
