package dev.gemmalora.lora;

import dev.gemmalora.io.InputException;
import dev.gemmalora.io.Json;
import dev.gemmalora.io.SafeTensorsFile;
import dev.gemmalora.io.SafeTensorsWriter;
import dev.gemmalora.io.TensorData;
import dev.gemmalora.model.GemmaModel;
import dev.gemmalora.model.Linear;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** A set of LoRA pairs for one model, read from and written to PEFT's adapter folder format. */
public final class LoraAdapter {
    public static final String WEIGHTS = "adapter_model.safetensors";
    public static final String CONFIG = "adapter_config.json";
    private static final String PREFIX = "base_model.model.";

    private final LoraConfig config;
    private final Map<String, LoraPair> pairs;

    public LoraAdapter(LoraConfig config, Map<String, LoraPair> pairs) {
        this.config = config;
        this.pairs = pairs;
    }

    public LoraConfig config() {
        return config;
    }

    /** Pairs by module path, in the model's layer order. */
    public Map<String, LoraPair> pairs() {
        return pairs;
    }

    /** PEFT's tensor name for a module's A or B matrix. */
    public static String tensorName(String module, char which) {
        return PREFIX + module + ".lora_" + which + ".weight";
    }

    /** Reads an adapter folder and checks every tensor against the model's modules and shapes. */
    public static LoraAdapter load(Path dir, GemmaModel model) {
        if (!Files.isDirectory(dir)) {
            throw new InputException(dir + ": adapter folder not found");
        }
        LoraConfig cfg = LoraConfig.read(dir);
        Path file = dir.resolve(WEIGHTS);
        SafeTensorsFile st = SafeTensorsFile.open(file);
        Map<String, Linear> byModule = new HashMap<>();
        model.linears().forEach(l -> byModule.put(l.module(), l));
        Map<String, TensorData> byName = new HashMap<>();
        for (var e : st.tensors().entrySet()) {
            String name = e.getKey();
            String module = moduleOf(name);
            if (module == null) {
                throw new InputException(file + ": tensor '" + name + "' is not a LoRA weight (expected "
                        + PREFIX + "<module>.lora_A.weight or .lora_B.weight)");
            }
            if (!byModule.containsKey(module)) {
                throw new InputException(file + ": tensor '" + name + "' names module '" + module
                        + "', which this model does not have (an adapter for another model?)");
            }
            byName.put(tensorName(module, name.endsWith(".lora_A.weight") ? 'A' : 'B'), e.getValue());
        }
        Map<String, LoraPair> pairs = new LinkedHashMap<>();
        for (Linear l : model.linears()) {
            TensorData a = byName.get(tensorName(l.module(), 'A'));
            TensorData b = byName.get(tensorName(l.module(), 'B'));
            if (a == null && b == null) {
                continue;
            }
            if (a == null || b == null) {
                throw new InputException(file + ": module '" + l.module() + "' has only one of lora_A and lora_B");
            }
            int r = a.shape().length == 2 ? a.dim(0) : -1;
            if (a.shape().length != 2 || b.shape().length != 2 || a.dim(1) != l.in() || b.dim(0) != l.out() || b.dim(1) != r) {
                throw new InputException(file + ": module '" + l.module() + "' has lora_A " + Arrays.toString(a.shape())
                        + " and lora_B " + Arrays.toString(b.shape()) + ", expected [r, " + l.in() + "] and ["
                        + l.out() + ", r] for this model (an adapter for another model?)");
            }
            pairs.put(l.module(), new LoraPair(l.module(), r, l.in(), l.out(), cfg.scaleFor(l.module()), a.toFloats(), b.toFloats()));
        }
        if (pairs.isEmpty()) {
            throw new InputException(file + ": no LoRA tensors found");
        }
        return new LoraAdapter(cfg, pairs);
    }

    /**
     * The module a PEFT tensor belongs to, by this engine's module paths. Adapters of a multimodal
     * Gemma 3 name its language model model.language_model.* (PEFT 0.21 on transformers 5) or
     * language_model.model.* (earlier versions); both are read, the first is written.
     */
    private static String moduleOf(String tensor) {
        if (!tensor.startsWith(PREFIX)) {
            return null;
        }
        for (String suffix : List.of(".lora_A.weight", ".lora_B.weight")) {
            if (tensor.endsWith(suffix)) {
                return modulePath(tensor.substring(PREFIX.length(), tensor.length() - suffix.length()));
            }
        }
        return null;
    }

    /**
     * A module path in this engine's spelling: a multimodal Gemma 3's language model as transformers
     * 5 names its modules (model.language_model.*), also when given as checkpoints store it and
     * older PEFT versions wrote it (language_model.model.*).
     */
    public static String modulePath(String path) {
        return path.startsWith(OLD_MULTIMODAL) ? NEW_MULTIMODAL + path.substring(OLD_MULTIMODAL.length()) : path;
    }

    private static final String OLD_MULTIMODAL = "language_model.model.";
    private static final String NEW_MULTIMODAL = "model.language_model.";

    /** Parameters in a fixed order (A then B of each pair, layer order), for the optimizer. */
    public List<float[]> parameters() {
        List<float[]> out = new ArrayList<>();
        pairs.values().forEach(p -> {
            out.add(p.a);
            out.add(p.b);
        });
        return out;
    }

    /** Gradients in the order of {@link #parameters()}. */
    public List<float[]> gradients() {
        List<float[]> out = new ArrayList<>();
        pairs.values().forEach(p -> {
            out.add(p.gradA);
            out.add(p.gradB);
        });
        return out;
    }

    public void zeroGrad() {
        pairs.values().forEach(LoraPair::zeroGrad);
    }

    /** The L2 norm of all gradients together, in double. */
    public double gradNorm() {
        return Gradients.norm(gradients().toArray(new float[0][]));
    }

    /** Hooks every pair into its linear layer (unmerged: base weights stay untouched). */
    public void attach(GemmaModel model) {
        for (Linear l : model.linears()) {
            l.setAdapter(pairs.get(l.module()));
        }
    }

    public static void detach(GemmaModel model) {
        model.linears().forEach(l -> l.setAdapter(null));
    }

    /** The adapter's tensors under PEFT's names, ordered as safetensors' Python writer orders them. */
    public List<TensorData> tensors() {
        List<TensorData> out = new ArrayList<>();
        for (LoraPair p : pairs.values()) {
            out.add(TensorData.ofFloats(tensorName(p.module, 'A'), p.a, p.r, p.in));
            out.add(TensorData.ofFloats(tensorName(p.module, 'B'), p.b, p.out, p.r));
        }
        out.sort(Comparator.comparing(TensorData::name));
        return out;
    }

    /** Writes adapter_config.json and adapter_model.safetensors into dir (created if needed). */
    public void save(Path dir) throws IOException {
        Files.createDirectories(dir);
        SafeTensorsWriter.write(dir.resolve(WEIGHTS), tensors(), Map.of("format", "pt"));
        Files.writeString(dir.resolve(CONFIG), Json.write(config.toJson()));
    }
}
