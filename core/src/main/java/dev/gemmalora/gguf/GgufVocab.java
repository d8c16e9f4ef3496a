package dev.gemmalora.gguf;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gemmalora.io.InputException;
import dev.gemmalora.io.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A Gemma tokenizer as llama.cpp's SentencePiece ("llama") vocabulary wants it, built from the
 * Hugging Face tokenizer.json and tokenizer_config.json (no tokenizer.model needed).
 *
 * <p>llama.cpp tokenizes SentencePiece vocabularies by repeatedly merging the adjacent pair whose
 * joined text is the vocabulary entry of highest score, leftmost first among equals. transformers
 * runs the same vocabulary as BPE with a merges list, which its converter ordered by the
 * SentencePiece scores. So a token's score here is minus the rank of the first merge producing it:
 * the two algorithms then pick the same merge at every step. Tokens no merge produces (single
 * characters, bytes, specials) come after all of them.
 */
public record GgufVocab(List<String> tokens, float[] scores, int[] types, int bos, int eos, int unknown, int padding,
                        Integer endOfTurn, boolean addBos, boolean addEos, String chatTemplate) {
    /** llama.cpp's token types (SentencePiece's piece types plus one). */
    static final int NORMAL = 1;
    static final int UNKNOWN = 2;
    static final int CONTROL = 3;
    static final int USER_DEFINED = 4;
    static final int UNUSED = 5;
    static final int BYTE = 6;

    /** Reads tokenizer.json and tokenizer_config.json (and chat_template.jinja/.json if the config has no template) from dir. */
    public static GgufVocab read(Path dir, int vocabSize) {
        Path file = dir.resolve("tokenizer.json");
        if (!Files.isRegularFile(file)) {
            throw new InputException(file + ": not found; the GGUF file needs the model's tokenizer (give --tokenizer DIR)");
        }
        JsonNode tok = Json.read(file);
        JsonNode model = tok.path("model");
        if (!model.path("type").asText().equals("BPE") || !model.path("vocab").isObject()) {
            throw new InputException(file + ": model.type is '" + model.path("type").asText()
                    + "'; a Gemma tokenizer.json is BPE with a vocab and merges");
        }
        Map<String, Integer> ids = new HashMap<>();
        model.path("vocab").fields().forEachRemaining(e -> ids.put(e.getKey(), e.getValue().asInt()));
        Map<Integer, JsonNode> added = new HashMap<>();
        tok.path("added_tokens").forEach(a -> {
            ids.put(a.path("content").asText(), a.path("id").asInt());
            added.put(a.path("id").asInt(), a);
        });
        int size = ids.values().stream().mapToInt(Integer::intValue).max().orElse(-1) + 1;
        if (size > vocabSize) {
            throw new InputException(file + ": has " + size + " tokens but the model's vocab_size is " + vocabSize
                    + " (a tokenizer of another model?)");
        }
        String[] text = new String[vocabSize];
        ids.forEach((t, id) -> text[id] = t);
        float[] scores = mergeScores(model.path("merges"), ids, vocabSize, file);
        int[] types = new int[vocabSize];
        String unk = model.path("unk_token").asText("<unk>");
        for (int id = 0; id < vocabSize; id++) {
            if (text[id] == null) {
                // Rows of the embedding past the tokenizer's last token, as llama.cpp's converter names them.
                text[id] = "[PAD" + id + "]";
                types[id] = UNUSED;
            } else if (added.containsKey(id)) {
                types[id] = added.get(id).path("special").asBoolean() ? CONTROL : USER_DEFINED;
            } else if (text[id].matches("<0x[0-9A-F]{2}>")) {
                types[id] = BYTE;
            } else {
                types[id] = NORMAL;
            }
        }
        // <unk> is unknown whether tokenizer.json lists it among the added tokens or only in the vocab.
        if (ids.containsKey(unk)) {
            types[ids.get(unk)] = UNKNOWN;
        }
        JsonNode cfg = readConfig(dir);
        return new GgufVocab(List.of(text), scores, types, special(cfg, "bos_token", ids, dir), special(cfg, "eos_token", ids, dir),
                ids.getOrDefault(unk, 0), cfg.has("pad_token") ? special(cfg, "pad_token", ids, dir) : 0,
                ids.get("<end_of_turn>"), cfg.path("add_bos_token").asBoolean(true), cfg.path("add_eos_token").asBoolean(false),
                chatTemplate(dir, cfg));
    }

    private static float[] mergeScores(JsonNode merges, Map<String, Integer> ids, int vocabSize, Path file) {
        float[] scores = new float[vocabSize];
        boolean[] set = new boolean[vocabSize];
        int rank = 0;
        for (JsonNode m : merges) {
            String joined;
            if (m.isArray() && m.size() == 2) {
                joined = m.get(0).asText() + m.get(1).asText();
            } else if (m.isTextual() && m.asText().indexOf(' ') > 0) {
                String s = m.asText();
                int sp = s.indexOf(' ');
                joined = s.substring(0, sp) + s.substring(sp + 1);
            } else {
                throw new InputException(file + ": merge " + rank + " is " + m + ", expected \"left right\" or [left, right]");
            }
            Integer id = ids.get(joined);
            if (id != null && !set[id]) {
                scores[id] = -rank;
                set[id] = true;
            }
            rank++;
        }
        for (int id = 0; id < vocabSize; id++) {
            if (!set[id]) {
                scores[id] = -(float) (rank + 1);
            }
        }
        return scores;
    }

    private static JsonNode readConfig(Path dir) {
        Path file = dir.resolve("tokenizer_config.json");
        if (!Files.isRegularFile(file)) {
            throw new InputException(file + ": not found; the GGUF file needs the tokenizer's special tokens and chat template");
        }
        return Json.read(file);
    }

    /** A special token's id, the config naming it as a string or as {"content": ...}. */
    private static int special(JsonNode cfg, String field, Map<String, Integer> ids, Path dir) {
        JsonNode v = cfg.path(field);
        String content = v.isObject() ? v.path("content").asText() : v.asText();
        Integer id = ids.get(content);
        if (id == null) {
            throw new InputException(dir.resolve("tokenizer_config.json") + ": field '" + field + "' is '" + content
                    + "', which is not a token of tokenizer.json");
        }
        return id;
    }

    /** The Jinja chat template: tokenizer_config.json's, else chat_template.jinja or chat_template.json; null if none. */
    private static String chatTemplate(Path dir, JsonNode cfg) {
        JsonNode t = cfg.path("chat_template");
        if (t.isTextual()) {
            return t.asText();
        }
        if (t.isArray()) {
            for (JsonNode named : t) {
                if (named.path("name").asText().equals("default")) {
                    return named.path("template").asText();
                }
            }
        }
        try {
            if (Files.isRegularFile(dir.resolve("chat_template.jinja"))) {
                return Files.readString(dir.resolve("chat_template.jinja"));
            }
        } catch (IOException e) {
            throw new InputException(dir.resolve("chat_template.jinja") + ": unreadable (" + e.getMessage() + ")");
        }
        if (Files.isRegularFile(dir.resolve("chat_template.json"))) {
            return Json.read(dir.resolve("chat_template.json")).path("chat_template").asText(null);
        }
        return null;
    }

    /** The tokenizer.* keys llama.cpp reads for a SentencePiece vocabulary. */
    void writeTo(GgufWriter w) {
        w.putString("tokenizer.ggml.model", "llama");
        w.putStrings("tokenizer.ggml.tokens", tokens);
        w.putF32s("tokenizer.ggml.scores", scores);
        w.putI32s("tokenizer.ggml.token_type", types);
        w.putU32("tokenizer.ggml.bos_token_id", bos);
        w.putU32("tokenizer.ggml.eos_token_id", eos);
        w.putU32("tokenizer.ggml.unknown_token_id", unknown);
        w.putU32("tokenizer.ggml.padding_token_id", padding);
        if (endOfTurn != null) {
            w.putU32("tokenizer.ggml.eot_token_id", endOfTurn);
        }
        w.putBool("tokenizer.ggml.add_bos_token", addBos);
        w.putBool("tokenizer.ggml.add_eos_token", addEos);
        // Gemma's SentencePiece model has no dummy prefix: "Hello" is "Hello", not "▁Hello".
        w.putBool("tokenizer.ggml.add_space_prefix", false);
        if (chatTemplate != null) {
            w.putString("tokenizer.chat_template", chatTemplate);
        }
    }
}
