package dev.gemmalora.api;

/** Told how a training run goes, on the thread that runs it; every method has a quiet default. */
public interface TrainListener {
    /** A line for the person running it: what is trained, resuming, and so on. */
    default void onMessage(String line) {
    }

    /** Something to know that does not stop the run (examples cut to nothing, a damaged checkpoint passed over). */
    default void onWarning(String line) {
    }

    /** Records tokenized so far, of total. */
    default void onTokenized(int done, int total) {
    }

    /** The optimizer steps start at firstStep (after a resume) of totalSteps. */
    default void onStart(int firstStep, int totalSteps) {
    }

    /** After each optimizer step. */
    default void onStep(TrainProgress progress) {
    }

    /** Asked after each step: true ends the run there, with a checkpoint (the result says it stopped). */
    default boolean stopRequested() {
        return false;
    }
}
