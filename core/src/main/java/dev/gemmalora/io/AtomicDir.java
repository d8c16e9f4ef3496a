package dev.gemmalora.io;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.stream.Stream;

/** Writes a folder under a hidden temporary name and renames it into place once complete. */
public final class AtomicDir {
    public interface Filler {
        void fill(Path dir) throws IOException;
    }

    private AtomicDir() {
    }

    /** Fills a fresh temporary sibling of target, then replaces target with it in one rename. */
    public static Path write(Path target, Filler filler) throws IOException {
        Path tmp = target.resolveSibling("." + target.getFileName() + ".tmp");
        deleteTree(tmp);
        Files.createDirectories(tmp);
        filler.fill(tmp);
        deleteTree(target);
        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
        return target;
    }

    public static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) {
            return;
        }
        try (Stream<Path> s = Files.walk(p)) {
            for (Path q : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(q);
            }
        }
    }
}
