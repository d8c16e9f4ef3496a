package dev.gemmalora.api;

/** The model's queue of waiting generations is full, or it is shutting down: try again later. */
public final class BusyException extends RuntimeException {
    public BusyException(String message) {
        super(message);
    }
}
