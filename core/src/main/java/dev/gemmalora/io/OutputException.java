package dev.gemmalora.io;

import java.io.IOException;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * A write of our own output that failed (a full disk, a file-size limit, an I/O error): one line
 * naming what was being written, why it failed, what it needs and what the disk has left. What
 * was complete before stays complete (folders are renamed into place, rows appended whole).
 */
public class OutputException extends RuntimeException {
    public OutputException(String message, IOException cause) {
        super(message, cause);
    }

    /** target could not be written; it needs about `needed` bytes. */
    public static OutputException of(Path target, long needed, IOException e) {
        return new OutputException("writing " + target + " failed (" + reason(e) + "); it needs about " + size(needed) + ", "
                + free(target) + " free there", e);
    }

    /** The same failure with what the user does next, for the command that knows it. */
    public OutputException withAdvice(String advice) {
        return new OutputException(getMessage() + "; " + advice, (IOException) getCause());
    }

    private static String reason(IOException e) {
        String m = e.getMessage();
        return e.getClass().getSimpleName() + (m == null ? "" : ": " + m);
    }

    private static String free(Path target) {
        Path p = target.toAbsolutePath();
        while (p != null && !Files.exists(p)) {
            p = p.getParent();
        }
        try {
            FileStore store = Files.getFileStore(p);
            return size(store.getUsableSpace());
        } catch (IOException | NullPointerException e) {
            return "an unknown amount";
        }
    }

    static String size(long bytes) {
        if (bytes < 1 << 20) {
            return String.format(Locale.ROOT, "%.1f KB", bytes / 1024.0);
        }
        return String.format(Locale.ROOT, "%.1f MB", bytes / (1024.0 * 1024));
    }
}
