package dev.gemmalora.api;

/** A request the model cannot serve as asked (a parameter out of range, a prompt too long); param names the field. */
public class InvalidRequestException extends IllegalArgumentException {
    private final String param;

    public InvalidRequestException(String param, String message) {
        super(message);
        this.param = param;
    }

    /** The request field at fault, as the OpenAI API names it (null: the request as a whole). */
    public String param() {
        return param;
    }
}
