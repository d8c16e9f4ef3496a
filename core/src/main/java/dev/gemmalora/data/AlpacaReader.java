package dev.gemmalora.data;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gemmalora.io.InputException;
import dev.gemmalora.io.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Reads Alpaca records from a JSON array or JSON Lines; a bad record is named by its index. */
public final class AlpacaReader {
    private AlpacaReader() {
    }

    public static List<AlpacaRecord> read(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new InputException(file + ": data file not found");
        }
        List<JsonNode> nodes = new ArrayList<>();
        try {
            String text = Files.readString(file);
            if (text.stripLeading().startsWith("[")) {
                Json.read(file).forEach(nodes::add);
            } else {
                int line = 0;
                for (String l : text.split("\n")) {
                    line++;
                    if (l.isBlank()) {
                        continue;
                    }
                    try {
                        nodes.add(Json.MAPPER.readTree(l));
                    } catch (IOException e) {
                        throw new InputException(file + ": line " + line + " is not valid JSON");
                    }
                }
            }
        } catch (IOException e) {
            throw InputException.ofRead(file, e);
        }
        List<AlpacaRecord> out = new ArrayList<>(nodes.size());
        for (int i = 0; i < nodes.size(); i++) {
            JsonNode n = nodes.get(i);
            out.add(new AlpacaRecord(field(file, n, i, "instruction", true), field(file, n, i, "input", false),
                    field(file, n, i, "output", true)));
        }
        return out;
    }

    private static String field(Path file, JsonNode n, int index, String name, boolean required) {
        JsonNode v = n.get(name);
        if (v == null || v.isNull()) {
            if (required) {
                throw new InputException(file + ": record " + index + " has no '" + name + "' field (expected a string)");
            }
            return "";
        }
        if (!v.isTextual()) {
            throw new InputException(file + ": record " + index + " field '" + name + "' is " + v.getNodeType()
                    + ", expected a string");
        }
        return v.asText();
    }
}
