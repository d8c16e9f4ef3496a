package dev.gemmalora.eval;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gemmalora.io.Json;
import dev.gemmalora.io.OutputException;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * results.jsonl, one row per finished question, appended and flushed as each completes. Reading
 * it back drops a last line cut short by a crash, so an interrupted evaluation resumes cleanly.
 */
public final class ResultsFile implements AutoCloseable {
    private final BufferedWriter out;
    private final Path file;

    private ResultsFile(BufferedWriter out, Path file) {
        this.out = out;
        this.file = file;
    }

    /** The complete rows already in the file; rewrites it without a trailing partial line. */
    public static List<ObjectNode> readDone(Path file) throws IOException {
        List<ObjectNode> rows = new ArrayList<>();
        if (!Files.exists(file)) {
            return rows;
        }
        List<String> good = new ArrayList<>();
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            if (line.isBlank()) {
                continue;
            }
            try {
                JsonNode n = Json.MAPPER.readTree(line);
                if (n instanceof ObjectNode o && o.has("index")) {
                    rows.add(o);
                    good.add(line);
                }
            } catch (IOException e) {
                break;
            }
        }
        Files.write(file, good, StandardCharsets.UTF_8);
        return rows;
    }

    public static ResultsFile append(Path file) throws IOException {
        Files.createDirectories(file.getParent());
        return new ResultsFile(Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                StandardOpenOption.APPEND), file);
    }

    /** Appends one row; a row cut short by a failed write is dropped by readDone, so the rows before it stand. */
    public void write(ObjectNode row) {
        String line = row.toString() + "\n";
        try {
            out.write(line);
            out.flush();
        } catch (IOException e) {
            throw OutputException.of(file, line.length(), e);
        }
    }

    @Override
    public void close() throws IOException {
        out.close();
    }
}
