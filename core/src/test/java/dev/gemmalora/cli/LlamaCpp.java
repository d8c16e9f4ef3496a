package dev.gemmalora.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gemmalora.io.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * llama.cpp itself, through node-llama-cpp's prebuilt CPU binaries (tools/llama-check, pinned in
 * its package-lock.json and installed by ./run-tests): loads a GGUF file, optionally with a GGUF
 * LoRA, and answers tokenization, next-token logits and greedy decoding as JSON.
 */
final class LlamaCpp {
    private LlamaCpp() {
    }

    static Path checker() {
        Path dir = Path.of(System.getProperty("llama.check.dir", "../tools/llama-check")).toAbsolutePath().normalize();
        assertTrue(Files.isDirectory(dir.resolve("node_modules/node-llama-cpp")), "llama.cpp is not installed in " + dir
                + ": run `npm install --omit=optional --no-save` there (./run-tests does)");
        return dir;
    }

    static ObjectNode request(Path model, Path lora) {
        ObjectNode req = Json.MAPPER.createObjectNode();
        req.put("model", model.toAbsolutePath().toString());
        if (lora != null) {
            req.put("lora", lora.toAbsolutePath().toString());
        }
        return req;
    }

    static void texts(ObjectNode req, List<String> texts) {
        texts.forEach(req.putArray("texts")::add);
    }

    static void logits(ObjectNode req, List<int[]> prompts) {
        ArrayNode a = req.putArray("logits");
        for (int[] p : prompts) {
            ArrayNode ids = a.addArray();
            for (int id : p) {
                ids.add(id);
            }
        }
    }

    static void greedy(ObjectNode req, int[] prompt, int steps) {
        ObjectNode g = req.putObject("greedy");
        g.put("steps", steps);
        for (int id : prompt) {
            g.withArray("ids").add(id);
        }
    }

    static JsonNode run(ObjectNode req, Path work) throws IOException, InterruptedException {
        Path dir = checker();
        Path file = work.resolve("llama-request-" + System.nanoTime() + ".json");
        Files.writeString(file, req.toString());
        Path err = work.resolve(file.getFileName() + ".err");
        Process p = new ProcessBuilder("node", dir.resolve("check.mjs").toString(), file.toString()).directory(dir.toFile())
                .redirectError(err.toFile()).start();
        byte[] out = p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(300, TimeUnit.SECONDS), "llama.cpp did not finish");
        assertEquals(0, p.exitValue(), "llama.cpp failed: " + Files.readString(err));
        return Json.MAPPER.readTree(out);
    }

    static int[] ints(JsonNode a) {
        int[] v = new int[a.size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = a.get(i).asInt();
        }
        return v;
    }

    static double[] doubles(JsonNode a) {
        double[] v = new double[a.size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = a.get(i).isNull() ? Double.NaN : a.get(i).asDouble();
        }
        return v;
    }
}
