package dev.gemmalora.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gemmalora.io.Json;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * manifest.json of a checkpoint: each file's size and SHA-256, written last, so that --resume can
 * tell a checkpoint damaged after it was written (a flipped bit, a truncated copy) from a good one.
 */
public final class CheckpointManifest {
    public static final String FILE = "manifest.json";

    private CheckpointManifest() {
    }

    /** Records every file of dir (but the manifest) in dir/manifest.json. */
    public static void write(Path dir) throws IOException {
        ObjectNode files = Json.MAPPER.createObjectNode();
        try (Stream<Path> s = Files.list(dir)) {
            for (Path f : s.filter(Files::isRegularFile).filter(f -> !f.getFileName().toString().equals(FILE)).sorted().toList()) {
                ObjectNode e = files.putObject(f.getFileName().toString());
                e.put("bytes", Files.size(f));
                e.put("sha256", sha256(f));
            }
        }
        ObjectNode m = Json.MAPPER.createObjectNode();
        m.set("files", files);
        Files.writeString(dir.resolve(FILE), Json.write(m));
    }

    /**
     * What is wrong with the checkpoint at dir, or empty when every file matches its manifest (or
     * it has none: checkpoints of earlier versions are taken as they are).
     */
    public static Optional<String> damage(Path dir) {
        Path manifest = dir.resolve(FILE);
        if (!Files.exists(manifest)) {
            return Optional.empty();
        }
        JsonNode files;
        try {
            files = Json.MAPPER.readTree(manifest.toFile()).path("files");
        } catch (IOException e) {
            return Optional.of(FILE + " is not valid JSON");
        }
        if (!files.isObject() || files.isEmpty()) {
            return Optional.of(FILE + " lists no files");
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = files.properties().iterator(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            Path f = dir.resolve(e.getKey());
            long want = e.getValue().path("bytes").asLong(-1);
            try {
                if (!Files.isRegularFile(f)) {
                    return Optional.of(e.getKey() + " is missing");
                }
                if (Files.size(f) != want) {
                    return Optional.of(e.getKey() + " has " + Files.size(f) + " bytes, " + want + " were written");
                }
                if (!sha256(f).equals(e.getValue().path("sha256").asText())) {
                    return Optional.of(e.getKey() + " does not match the SHA-256 it was written with");
                }
            } catch (IOException x) {
                return Optional.of(e.getKey() + " cannot be read (" + x.getMessage() + ")");
            }
        }
        return Optional.empty();
    }

    private static String sha256(Path f) throws IOException {
        try (InputStream in = Files.newInputStream(f)) {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[1 << 20];
            for (int n; (n = in.read(buf)) > 0; ) {
                md.update(buf, 0, n);
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new UncheckedIOException(new IOException(e));
        }
    }
}
