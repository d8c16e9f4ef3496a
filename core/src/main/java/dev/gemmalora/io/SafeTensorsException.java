package dev.gemmalora.io;

/** A safetensors file that cannot be read as one; the message names the file and, where known, the tensor. */
public class SafeTensorsException extends InputException {
    public SafeTensorsException(String message) {
        super(message);
    }

    public SafeTensorsException(String message, Throwable cause) {
        super(message);
        initCause(cause);
    }
}
