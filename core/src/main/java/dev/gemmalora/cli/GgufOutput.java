package dev.gemmalora.cli;

import dev.gemmalora.gguf.GgufWriter;
import dev.gemmalora.gguf.OllamaModelfile;
import dev.gemmalora.io.InputException;
import dev.gemmalora.io.OutputException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Locale;
import java.util.function.BiFunction;
import me.tongfei.progressbar.ProgressBar;
import picocli.CommandLine.Option;

/** What both GGUF exports share: --output and --force, the write with progress, the Modelfile beside it. */
final class GgufOutput {
    @Option(names = "--output", required = true, paramLabel = "FILE.gguf", description = "The GGUF file to write.")
    Path output;

    @Option(names = "--force", description = "Replace FILE.gguf and its Modelfile if they exist.")
    boolean force;

    /** Refuses to replace FILE or its Modelfile unless --force, before any work is done. */
    void checkWritable() {
        if (!output.getFileName().toString().endsWith(".gguf")) {
            throw new InputException("--output is " + output + "; name the file FILE.gguf");
        }
        for (Path p : new Path[] {output, OllamaModelfile.beside(output)}) {
            if (Files.exists(p) && !force) {
                throw new InputException(p + ": exists; pass --force to replace it, or choose another --output");
            }
        }
        Path dir = output.toAbsolutePath().getParent();
        if (!Files.isDirectory(dir)) {
            throw new InputException("--output is " + output + ", but folder " + dir + " does not exist");
        }
    }

    /**
     * Writes the GGUF file (under a hidden name, renamed into place when whole) and then its
     * Modelfile from modelfile(modelfilePath, output); a failure leaves nothing under either name.
     */
    void write(GgufWriter w, BiFunction<Path, Path, String> modelfile) {
        long size = w.size();
        try (ProgressBar bar = Progress.start("export " + output.getFileName() + " (MB)", Math.max(1, size >> 20))) {
            w.write(output, bytes -> bar.stepTo(bytes >> 20));
        } catch (IOException e) {
            throw OutputException.of(output, size, e).withAdvice("nothing was written under " + output
                    + ": free some space and run the same command");
        }
        Path mf = OllamaModelfile.beside(output);
        Path tmp = mf.toAbsolutePath().resolveSibling("." + mf.getFileName() + ".partial");
        try {
            Files.writeString(tmp, modelfile.apply(mf, output));
            Files.move(tmp, mf, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw OutputException.of(mf, 4096, e).withAdvice(output + " is whole; free some space and run the same command with --force");
        } finally {
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException ignored) {
                // the partial file is hidden and replaced by the next run
            }
        }
    }

    static String size(long bytes) {
        return bytes >= 1L << 30 ? String.format(Locale.ROOT, "%.2f GB", bytes / (double) (1L << 30))
                : String.format(Locale.ROOT, "%.1f MB", bytes / (double) (1L << 20));
    }
}
