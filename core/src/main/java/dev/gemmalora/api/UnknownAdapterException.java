package dev.gemmalora.api;

/** A generation asked for an adapter name the model does not hold. */
public final class UnknownAdapterException extends InvalidRequestException {
    public UnknownAdapterException(String name, Iterable<String> known) {
        super("model", "model '" + name + "' is not served here; served: " + String.join(", ", known));
    }
}
