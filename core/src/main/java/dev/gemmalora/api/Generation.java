package dev.gemmalora.api;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/** A generation submitted to a model: wait for it, or cancel it (it leaves the batch at the next step). */
public final class Generation {
    private final Sequence sequence;

    Generation(Sequence sequence) {
        this.sequence = sequence;
    }

    public void cancel() {
        sequence.cancel();
    }

    public CompletableFuture<Completion> future() {
        return sequence.done();
    }

    /** Blocks until the generation ends and returns it. */
    public Completion await() {
        try {
            return sequence.done().get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            cancel();
            throw new IllegalStateException("interrupted while waiting for a generation", e);
        } catch (ExecutionException e) {
            throw e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
        }
    }
}
