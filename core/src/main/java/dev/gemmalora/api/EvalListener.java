package dev.gemmalora.api;

/** Told how an evaluation goes, on the thread that runs it; every method has a quiet default. */
public interface EvalListener {
    /** A line for the person running it (a model resumed, where the report is). */
    default void onMessage(String line) {
    }

    /** Scoring of a model starts: done of total questions are in its results already. */
    default void onModelStart(String name, int total, int done) {
    }

    /** One more question of that model scored, at this many token positions a second so far. */
    default void onQuestion(String name, double tokensPerSecond) {
    }

    /** That model's questions are all scored. */
    default void onModelEnd(String name) {
    }
}
