package dev.gemmalora.model;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gemmalora.io.InputException;
import dev.gemmalora.io.Json;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The fields of a Gemma-2 config.json that the forward pass needs, with transformers' defaults
 * for absent ones. Soft-capping values are 0 when the config sets them to null (no capping).
 */
public record GemmaConfig(
        int vocabSize, int hidden, int intermediate, int layers, int heads, int kvHeads, int headDim,
        double queryPreAttnScalar, int slidingWindow, double attnSoftcap, double finalSoftcap,
        double rmsEps, double ropeTheta, boolean[] slidingLayers, boolean tieWordEmbeddings,
        int padTokenId, int bosTokenId, List<Integer> eosTokenIds, String torchDtype, String hiddenActivation,
        int maxPositions) {

    public static GemmaConfig load(Path modelDir) {
        Path file = modelDir.resolve("config.json");
        if (!Files.isDirectory(modelDir)) {
            throw new InputException(modelDir + ": model folder not found");
        }
        if (!Files.isRegularFile(file)) {
            throw new InputException(file + ": not found; a model folder needs the config.json of a Hugging Face checkpoint");
        }
        return parse(Json.read(file), file.toString());
    }

    public static GemmaConfig parse(JsonNode c, String where) {
        String type = c.path("model_type").asText("");
        if (!type.equals("gemma2")) {
            throw new InputException(where + ": field 'model_type' is '" + type + "', expected 'gemma2' (only Gemma-2 checkpoints are supported)");
        }
        int layers = intField(c, "num_hidden_layers", 26, where);
        int heads = intField(c, "num_attention_heads", 8, where);
        int kvHeads = intField(c, "num_key_value_heads", 4, where);
        if (heads % kvHeads != 0) {
            throw new InputException(where + ": num_attention_heads " + heads + " is not a multiple of num_key_value_heads " + kvHeads);
        }
        boolean[] sliding = new boolean[layers];
        JsonNode types = c.path("layer_types");
        if (types.isArray()) {
            if (types.size() != layers) {
                throw new InputException(where + ": field 'layer_types' has " + types.size() + " entries, expected num_hidden_layers = " + layers);
            }
            for (int i = 0; i < layers; i++) {
                String t = types.get(i).asText();
                if (!t.equals("sliding_attention") && !t.equals("full_attention")) {
                    throw new InputException(where + ": layer_types[" + i + "] is '" + t + "', expected 'sliding_attention' or 'full_attention'");
                }
                sliding[i] = t.equals("sliding_attention");
            }
        } else {
            for (int i = 0; i < layers; i++) {
                sliding[i] = i % 2 == 0;
            }
        }
        double ropeTheta = c.path("rope_parameters").path("rope_theta").asDouble(c.path("rope_theta").asDouble(10000.0));
        List<Integer> eos = new ArrayList<>();
        JsonNode eosNode = c.path("eos_token_id");
        if (eosNode.isArray()) {
            eosNode.forEach(n -> eos.add(n.asInt()));
        } else if (eosNode.canConvertToInt()) {
            eos.add(eosNode.asInt());
        } else {
            eos.add(1);
        }
        String dtype = c.path("torch_dtype").asText(c.path("dtype").asText("float32"));
        String act = c.path("hidden_activation").asText(c.path("hidden_act").asText("gelu_pytorch_tanh"));
        if (!act.equals("gelu_pytorch_tanh") && !act.equals("gelu_tanh")) {
            throw new InputException(where + ": field 'hidden_activation' is '" + act + "', expected 'gelu_pytorch_tanh'");
        }
        int hidden = intField(c, "hidden_size", 2304, where);
        return new GemmaConfig(
                intField(c, "vocab_size", 256000, where), hidden,
                intField(c, "intermediate_size", 9216, where), layers, heads, kvHeads,
                intField(c, "head_dim", 256, where),
                c.path("query_pre_attn_scalar").asDouble(256),
                intField(c, "sliding_window", 4096, where),
                softcap(c, "attn_logit_softcapping", 50.0), softcap(c, "final_logit_softcapping", 30.0),
                c.path("rms_norm_eps").asDouble(1e-6), ropeTheta, sliding,
                c.path("tie_word_embeddings").asBoolean(true),
                c.path("pad_token_id").asInt(0), c.path("bos_token_id").asInt(2), List.copyOf(eos), dtype, act,
                intField(c, "max_position_embeddings", 8192, where));
    }

    private static int intField(JsonNode c, String name, int dflt, String where) {
        JsonNode n = c.get(name);
        if (n == null || n.isNull()) {
            return dflt;
        }
        if (!n.canConvertToInt() || n.asInt() <= 0) {
            throw new InputException(where + ": field '" + name + "' is " + n + ", expected a positive integer");
        }
        return n.asInt();
    }

    private static double softcap(JsonNode c, String name, double dflt) {
        JsonNode n = c.get(name);
        if (n == null) {
            return dflt;
        }
        return n.isNull() ? 0 : n.asDouble();
    }

    public int qDim() {
        return heads * headDim;
    }

    public int kvDim() {
        return kvHeads * headDim;
    }

    public boolean isSliding(int layer) {
        return slidingLayers[layer];
    }

    /** The values `inspect` prints, in config.json's spelling. */
    public Map<String, Object> describe() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("vocab_size", vocabSize);
        m.put("hidden_size", hidden);
        m.put("intermediate_size", intermediate);
        m.put("num_hidden_layers", layers);
        m.put("num_attention_heads", heads);
        m.put("num_key_value_heads", kvHeads);
        m.put("head_dim", headDim);
        m.put("query_pre_attn_scalar", queryPreAttnScalar);
        m.put("sliding_window", slidingWindow);
        m.put("attn_logit_softcapping", attnSoftcap == 0 ? null : attnSoftcap);
        m.put("final_logit_softcapping", finalSoftcap == 0 ? null : finalSoftcap);
        m.put("rms_norm_eps", rmsEps);
        m.put("rope_theta", ropeTheta);
        StringBuilder lt = new StringBuilder();
        for (boolean s : slidingLayers) {
            lt.append(s ? 'S' : 'F');
        }
        m.put("layer_types (S=sliding, F=full)", lt.toString());
        m.put("tie_word_embeddings", tieWordEmbeddings);
        m.put("torch_dtype", torchDtype);
        return m;
    }
}
