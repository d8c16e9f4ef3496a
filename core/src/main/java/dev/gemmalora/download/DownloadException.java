package dev.gemmalora.download;

import java.io.IOException;

/** A download that failed for a reason the message states (HTTP status, size or checksum). */
public final class DownloadException extends IOException {
    public DownloadException(String message) {
        super(message);
    }
}
