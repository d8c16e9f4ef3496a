package dev.gemmalora.io;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.time.temporal.ChronoUnit;

/**
 * One writer per output folder: an OS file lock held for the whole command. The operating system
 * drops it when the process ends, however it ends, so a killed run never blocks the next one. The
 * lock file names its holder (pid, host, command, start), for the message the next process prints.
 */
public final class OutputLock implements AutoCloseable {
    private final FileChannel channel;
    private final FileLock lock;

    private OutputLock(FileChannel channel, FileLock lock) {
        this.channel = channel;
        this.lock = lock;
    }

    /** Locks the folder dir (created if missing) through dir/.gemma-lora.lock, for train and eval. */
    public static OutputLock inside(Path dir, String command) {
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new InputException(dir + ": cannot create the output folder (" + e.getMessage() + ")");
        }
        return lock(dir.resolve(".gemma-lora.lock"), dir, command);
    }

    /** Locks target, a folder written whole at the end (merge), through a hidden file beside it. */
    public static OutputLock beside(Path target, String command) {
        Path abs = target.toAbsolutePath().normalize();
        try {
            Files.createDirectories(abs.getParent());
        } catch (IOException e) {
            throw new InputException(abs.getParent() + ": cannot create the folder (" + e.getMessage() + ")");
        }
        return lock(abs.resolveSibling("." + abs.getFileName() + ".gemma-lora.lock"), target, command);
    }

    private static OutputLock lock(Path file, Path what, String command) {
        FileChannel ch = null;
        try {
            ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
            FileLock lock;
            try {
                lock = ch.tryLock();
            } catch (OverlappingFileLockException e) {
                lock = null;
            }
            if (lock == null) {
                String holder = holder(ch);
                ch.close();
                throw new InputException(what + ": in use by another gemma-lora process (" + holder + "); wait for it to end,"
                        + " or choose another --output");
            }
            ch.truncate(0);
            ch.write(ByteBuffer.wrap(("pid " + ProcessHandle.current().pid() + " on " + host() + ", gemma-lora " + command
                    + " since " + Instant.now().truncatedTo(ChronoUnit.SECONDS) + "\n").getBytes(StandardCharsets.UTF_8)), 0);
            ch.force(false);
            return new OutputLock(ch, lock);
        } catch (IOException e) {
            closeQuietly(ch);
            throw new UncheckedIOException(file + ": cannot lock the output (" + e.getMessage() + ")", e);
        }
    }

    private static String holder(FileChannel ch) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(512);
        int n = ch.read(b, 0);
        String text = n <= 0 ? "" : new String(b.array(), 0, n, StandardCharsets.UTF_8).strip();
        return text.isEmpty() ? "its pid is not written yet" : text;
    }

    private static String host() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (UnknownHostException e) {
            return "an unknown host";
        }
    }

    private static void closeQuietly(FileChannel ch) {
        try {
            if (ch != null) {
                ch.close();
            }
        } catch (IOException ignored) {
            // already failing with the first error
        }
    }

    @Override
    public void close() throws IOException {
        lock.release();
        channel.close();
    }
}
