package dev.gemmalora.lora;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gemmalora.io.InputException;
import dev.gemmalora.io.Json;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The PEFT adapter_config.json fields that decide which modules get a LoRA pair and how it is
 * scaled. target_modules is either a list of module-name suffixes or one regex (PEFT's rule).
 */
public record LoraConfig(int r, double alpha, boolean useRslora, double dropout, List<String> targetModules,
                         String targetRegex, List<Integer> layersToTransform, Map<String, Integer> rankPattern,
                         Map<String, Double> alphaPattern, String baseModel)
        implements java.io.Serializable {

    public static final List<String> ALL_PROJECTIONS =
            List.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj");

    public static LoraConfig of(int r, double alpha, double dropout, boolean rslora, List<String> targets) {
        return new LoraConfig(r, alpha, rslora, dropout, List.copyOf(targets), null, null, Map.of(), Map.of(), null);
    }

    /** The same settings, recording the base model's location as PEFT does. */
    public LoraConfig withBaseModel(String base) {
        return new LoraConfig(r, alpha, useRslora, dropout, targetModules, targetRegex, layersToTransform, rankPattern,
                alphaPattern, base);
    }

    public static LoraConfig read(Path dir) {
        Path file = dir.resolve("adapter_config.json");
        if (!Files.isRegularFile(file)) {
            // `train --output DIR` writes the adapter to DIR/final, and DIR is what a user remembers.
            String hint = Files.isRegularFile(dir.resolve("final").resolve(file.getFileName()))
                    ? " (this looks like a training run: its adapter is " + dir.resolve("final") + ")" : "";
            throw new InputException(file + ": not found; an adapter folder holds adapter_config.json and adapter_model.safetensors as PEFT writes them"
                    + hint);
        }
        JsonNode c = Json.read(file);
        String type = c.path("peft_type").asText("LORA");
        if (!type.equals("LORA")) {
            throw new InputException(file + ": field 'peft_type' is '" + type + "', expected 'LORA'");
        }
        if (c.path("use_dora").asBoolean(false)) {
            throw new InputException(file + ": field 'use_dora' is true; DoRA adapters are not supported");
        }
        if (!c.path("r").canConvertToInt() || c.path("r").asInt() <= 0) {
            throw new InputException(file + ": field 'r' is " + c.path("r") + ", expected a positive integer");
        }
        JsonNode tm = c.path("target_modules");
        List<String> targets = new ArrayList<>();
        String regex = null;
        if (tm.isArray()) {
            tm.forEach(n -> targets.add(n.asText()));
        } else if (tm.isTextual()) {
            regex = tm.asText();
        } else {
            throw new InputException(file + ": field 'target_modules' is " + tm + ", expected a list of module names or a regex");
        }
        List<Integer> layers = null;
        JsonNode ltt = c.path("layers_to_transform");
        if (ltt.isInt()) {
            layers = List.of(ltt.asInt());
        } else if (ltt.isArray()) {
            layers = new ArrayList<>();
            for (JsonNode n : ltt) {
                layers.add(n.asInt());
            }
        }
        Map<String, Integer> ranks = new LinkedHashMap<>();
        c.path("rank_pattern").fields().forEachRemaining(e -> ranks.put(e.getKey(), e.getValue().asInt()));
        Map<String, Double> alphas = new LinkedHashMap<>();
        c.path("alpha_pattern").fields().forEachRemaining(e -> alphas.put(e.getKey(), e.getValue().asDouble()));
        JsonNode base = c.path("base_model_name_or_path");
        return new LoraConfig(c.path("r").asInt(), c.path("lora_alpha").asDouble(8), c.path("use_rslora").asBoolean(false),
                c.path("lora_dropout").asDouble(0), targets, regex, layers, ranks, alphas,
                base.isTextual() ? base.asText() : null);
    }

    /** Whether PEFT would wrap the module at this path (e.g. model.layers.3.mlp.up_proj). */
    public boolean targets(String module) {
        boolean match = targetRegex != null ? Pattern.matches(targetRegex, module)
                : targetModules.stream().anyMatch(t -> module.equals(t) || module.endsWith("." + t));
        if (!match || layersToTransform == null) {
            return match;
        }
        var m = Pattern.compile("\\.layers\\.(\\d+)\\.").matcher(module);
        return m.find() && layersToTransform.contains(Integer.parseInt(m.group(1)));
    }

    private static <V> V pattern(Map<String, V> patterns, String module, V dflt) {
        for (var e : patterns.entrySet()) {
            if (Pattern.compile("(.*\\.)?(" + e.getKey() + ")$").matcher(module).matches()) {
                return e.getValue();
            }
        }
        return dflt;
    }

    public int rankFor(String module) {
        return pattern(rankPattern, module, r);
    }

    /** alpha / r, or alpha / sqrt(r) with rsLoRA, with any per-module override. */
    public double scaleFor(String module) {
        int rank = rankFor(module);
        double a = pattern(alphaPattern, module, alpha);
        return useRslora ? a / Math.sqrt(rank) : a / rank;
    }

    /** adapter_config.json with the keys PEFT 0.21 writes for a LoRA adapter. */
    public ObjectNode toJson() {
        ObjectNode c = Json.MAPPER.createObjectNode();
        ObjectNode ap = c.putObject("alpha_pattern");
        alphaPattern.forEach(ap::put);
        c.putNull("auto_mapping");
        c.put("base_model_name_or_path", baseModel);
        c.put("bias", "none");
        c.putNull("eva_config");
        c.putNull("exclude_modules");
        c.put("fan_in_fan_out", false);
        c.put("inference_mode", true);
        c.put("init_lora_weights", true);
        c.putNull("layer_replication");
        if (layersToTransform == null) {
            c.putNull("layers_to_transform");
        } else {
            layersToTransform.forEach(c.putArray("layers_to_transform")::add);
        }
        c.putNull("layers_pattern");
        c.putObject("loftq_config");
        if (alpha == Math.rint(alpha)) {
            c.put("lora_alpha", (int) alpha);
        } else {
            c.put("lora_alpha", alpha);
        }
        c.put("lora_bias", false);
        c.put("lora_dropout", dropout);
        c.put("megatron_config", (String) null);
        c.put("megatron_core", "megatron.core");
        c.putNull("modules_to_save");
        c.put("peft_type", "LORA");
        c.put("r", r);
        ObjectNode rp = c.putObject("rank_pattern");
        rankPattern.forEach(rp::put);
        c.putNull("revision");
        if (targetRegex != null) {
            c.put("target_modules", targetRegex);
        } else {
            targetModules.forEach(c.putArray("target_modules")::add);
        }
        c.put("task_type", "CAUSAL_LM");
        c.put("use_dora", false);
        c.put("use_rslora", useRslora);
        return c;
    }
}
