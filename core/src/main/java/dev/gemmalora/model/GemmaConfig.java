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
 * The fields of a Gemma config.json that the forward pass needs, with transformers' defaults for
 * absent ones, for the three generations: Gemma 1 (model_type gemma), Gemma 2 (gemma2) and Gemma 3
 * (gemma3_text, or the language model of a multimodal gemma3 checkpoint, under text_config).
 * Soft-capping values are 0 when absent for the family or null (no capping). RoPE has a base and a
 * linear scaling factor for full-attention layers and for sliding ones (Gemma 3 differs; earlier
 * generations use one base for both).
 */
public record GemmaConfig(
        int vocabSize, int hidden, int intermediate, int layers, int heads, int kvHeads, int headDim,
        double queryPreAttnScalar, int slidingWindow, double attnSoftcap, double finalSoftcap,
        double rmsEps, double ropeTheta, boolean[] slidingLayers, boolean tieWordEmbeddings,
        int padTokenId, int bosTokenId, List<Integer> eosTokenIds, String torchDtype, String hiddenActivation,
        int maxPositions, Family family, boolean multimodal, double ropeFactor, double ropeLocalTheta, double ropeLocalFactor) {

    /** The generations, by their model_type, and what each layer has. */
    public enum Family {
        GEMMA("gemma", "Gemma 1"), GEMMA2("gemma2", "Gemma 2"), GEMMA3("gemma3_text", "Gemma 3");

        public final String modelType;
        public final String title;

        Family(String modelType, String title) {
            this.modelType = modelType;
            this.title = title;
        }
    }

    /** What to say of a model_type that is not one of these. */
    static final String SUPPORTED = "gemma-lora reads gemma (Gemma 1), gemma2 (Gemma 2), gemma3_text and gemma3 (Gemma 3, its language"
            + " model); not other architectures or Gemma variants (gemma3n, gemma4, recurrent_gemma, paligemma)";

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
        boolean multimodal = type.equals("gemma3") && c.path("text_config").isObject();
        if (multimodal) {
            // The language model of Gemma3ForConditionalGeneration; the vision tower is not read.
            c = c.get("text_config");
            where += " (text_config)";
            type = c.path("model_type").asText("gemma3_text");
        }
        Family family = null;
        for (Family f : Family.values()) {
            family = f.modelType.equals(type) ? f : family;
        }
        if (family == null) {
            throw new InputException(where + ": field 'model_type' is '" + type + "'; " + SUPPORTED);
        }
        int layers = intField(c, "num_hidden_layers", family == Family.GEMMA ? 18 : 26, where);
        int heads = intField(c, "num_attention_heads", 8, where);
        int kvHeads = intField(c, "num_key_value_heads", family == Family.GEMMA ? 1 : 4, where);
        if (heads % kvHeads != 0) {
            throw new InputException(where + ": num_attention_heads " + heads + " is not a multiple of num_key_value_heads " + kvHeads);
        }
        int headDim = intField(c, "head_dim", 256, where);
        boolean[] sliding = slidingLayers(c, family, layers, where);
        double[] rope = rope(c, family, where);
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
        // Gemma 1's Hub configs say hidden_act "gelu" with no hidden_activation; transformers runs
        // the tanh approximation for it anyway (GemmaMLP warns and uses gelu_pytorch_tanh).
        boolean approximated = family == Family.GEMMA && !c.has("hidden_activation") && act.equals("gelu");
        if (!act.equals("gelu_pytorch_tanh") && !act.equals("gelu_tanh") && !approximated) {
            throw new InputException(where + ": field 'hidden_activation' is '" + act + "', expected 'gelu_pytorch_tanh'");
        }
        boolean capped = family == Family.GEMMA2;
        return new GemmaConfig(
                intField(c, "vocab_size", 256000, where), intField(c, "hidden_size", 2304, where),
                intField(c, "intermediate_size", 9216, where), layers, heads, kvHeads, headDim,
                // Gemma 1 scales attention by 1/sqrt(head_dim): its configs have no query_pre_attn_scalar.
                c.path("query_pre_attn_scalar").asDouble(family == Family.GEMMA ? headDim : 256),
                family == Family.GEMMA ? 0 : intField(c, "sliding_window", 4096, where),
                family == Family.GEMMA ? 0 : softcap(c, "attn_logit_softcapping", capped ? 50.0 : 0),
                family == Family.GEMMA ? 0 : softcap(c, "final_logit_softcapping", capped ? 30.0 : 0),
                c.path("rms_norm_eps").asDouble(1e-6), rope[0], sliding,
                c.path("tie_word_embeddings").asBoolean(true),
                c.path("pad_token_id").asInt(0), c.path("bos_token_id").asInt(2), List.copyOf(eos), dtype,
                approximated ? "gelu_pytorch_tanh" : act,
                intField(c, "max_position_embeddings", 8192, where), family, multimodal, rope[1], rope[2], rope[3]);
    }

    /**
     * Which layers use the sliding window: layer_types when given; else Gemma 2 alternates (even
     * layers slide) and Gemma 3 follows sliding_window_pattern (every p-th layer is full, p = 6
     * unless said); Gemma 1 has none.
     */
    private static boolean[] slidingLayers(JsonNode c, Family family, int layers, String where) {
        boolean[] sliding = new boolean[layers];
        JsonNode types = c.path("layer_types");
        if (family == Family.GEMMA) {
            return sliding;
        }
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
            return sliding;
        }
        int pattern = family == Family.GEMMA2 ? 2
                : intField(c, "sliding_window_pattern", intField(c, "_sliding_window_pattern", 6, where), where);
        for (int i = 0; i < layers; i++) {
            sliding[i] = family == Family.GEMMA2 ? i % 2 == 0 : (i + 1) % pattern != 0;
        }
        return sliding;
    }

    /**
     * {full base, full linear factor, sliding base, sliding factor}. Newer configs write
     * rope_parameters (one set, or one per layer type); the Hub's Gemma 3 files write rope_theta
     * (full layers), rope_scaling (full layers) and rope_local_base_freq (sliding ones).
     */
    private static double[] rope(JsonNode c, Family family, String where) {
        JsonNode params = c.path("rope_parameters");
        boolean perType = params.has("full_attention") || params.has("sliding_attention");
        JsonNode full = perType ? params.path("full_attention") : params.isObject() ? params : c.path("rope_scaling");
        double fullTheta = full.path("rope_theta").asDouble(c.path("rope_theta").asDouble(family == Family.GEMMA3 ? 1e6 : 1e4));
        double fullFactor = factor(full, where);
        if (family != Family.GEMMA3) {
            return new double[] {fullTheta, fullFactor, fullTheta, fullFactor};
        }
        JsonNode local = params.path("sliding_attention");
        double localTheta = local.path("rope_theta").asDouble(c.path("rope_local_base_freq").asDouble(1e4));
        return new double[] {fullTheta, fullFactor, localTheta, factor(local, where)};
    }

    /** A RoPE entry's linear factor: 1 for the default type; other scalings are not supported. */
    private static double factor(JsonNode rope, String where) {
        String type = rope.path("rope_type").asText(rope.path("type").asText("default"));
        if (type.equals("default")) {
            return 1;
        }
        if (!type.equals("linear")) {
            throw new InputException(where + ": RoPE scaling '" + type + "' is not supported (default and linear are)");
        }
        return rope.path("factor").asDouble(1);
    }

    /** Tensor names of the language model in the checkpoint start with this (the multimodal one's as transformers saves it). */
    public String weightPrefix() {
        return multimodal ? "language_model.model." : "model.";
    }

    /** Module paths as PEFT names them (transformers 5's module tree) start with this. */
    public String modulePrefix() {
        return multimodal ? "model.language_model." : "model.";
    }

    /** Post-attention and post-feed-forward norms around the sublayers (Gemma 2 and 3; Gemma 1 has a pre-norm only). */
    public boolean sandwichNorms() {
        return family != Family.GEMMA;
    }

    /** RMSNorm on each head of the queries and keys before RoPE (Gemma 3). */
    public boolean qkNorm() {
        return family == Family.GEMMA3;
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
        m.put("model_type", family.modelType + (multimodal ? " (the language model of a gemma3 checkpoint)" : ""));
        m.put("rope_theta", ropeTheta);
        if (ropeFactor != 1) {
            m.put("rope_scaling (full layers, linear)", ropeFactor);
        }
        if (ropeLocalTheta != ropeTheta) {
            m.put("rope_local_base_freq", ropeLocalTheta);
        }
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
