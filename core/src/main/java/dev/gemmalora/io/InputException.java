package dev.gemmalora.io;

/**
 * Bad input a person can fix (a missing file, a malformed field): the message is one line that
 * names the thing and what was expected. The CLI turns it into exit code 2.
 */
public class InputException extends RuntimeException {
    public InputException(String message) {
        super(message);
    }
}
