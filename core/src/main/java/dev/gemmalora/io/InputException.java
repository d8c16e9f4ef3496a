package dev.gemmalora.io;

import java.io.CharConversionException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.CharacterCodingException;
import java.nio.file.Path;

/**
 * Bad input a person can fix (a missing file, a malformed field): the message is one line that
 * names the thing and what was expected. The CLI turns it into exit code 2.
 */
public class InputException extends RuntimeException {
    public InputException(String message) {
        super(message);
    }

    /**
     * What a failed read of a user's text file means: bytes that are not text in the expected
     * encoding are the file's fault (an input error); anything else is the system's (disk, rights).
     */
    public static RuntimeException ofRead(Path file, IOException e) {
        if (e instanceof CharacterCodingException || e instanceof CharConversionException) {
            return new InputException(file + ": not UTF-8 text (" + e.getMessage() + "); save it as UTF-8");
        }
        return new UncheckedIOException(file + ": " + e.getMessage(), e);
    }
}
