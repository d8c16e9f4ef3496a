package dev.gemmalora;

import static dev.gemmalora.GoldenParityTest.assertRelative;
import static dev.gemmalora.GoldenParityTest.assertRelativeNorm;
import static dev.gemmalora.GoldenParityTest.maxAbsDiff;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gemmalora.GoldenParityTest.Batch;
import dev.gemmalora.io.CheckpointTensors;
import dev.gemmalora.io.Json;
import dev.gemmalora.io.SafeTensorsFile;
import dev.gemmalora.io.SafeTensorsWriter;
import dev.gemmalora.io.TensorData;
import dev.gemmalora.lora.LoraAdapter;
import dev.gemmalora.lora.LoraPair;
import dev.gemmalora.model.Backprop;
import dev.gemmalora.model.CrossEntropy;
import dev.gemmalora.model.GemmaModel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Other shapes of the fixture's family (multi-head attention, rsLoRA, rank and alpha patterns,
 * partial targets), built from the fixture by exact identities, so transformers' outputs for the
 * fixture are also the reference for each variant. The variants are written as checkpoint and
 * adapter folders and go through the same loaders as a user's files: nothing here is tuned to the
 * fixture's shape.
 */
class ShapeVariantParityTest {
    static Path golden;
    static Batch batch;
    static JsonNode results;

    @BeforeAll
    static void load() {
        golden = GoldenPaths.t1();
        batch = Batch.read(golden.resolve("batch.json"));
        results = Json.read(golden.resolve("results.json"));
    }

    /**
     * Grouped-query attention is multi-head attention whose key/value heads come in copies
     * (transformers' repeat_kv: key head j serves query heads j*groups .. j*groups+groups-1), so the
     * fixture's model with k_proj and v_proj repeated that way is an MHA model (Gemma 1 7b's shape)
     * with the fixture's logits, loss and gradients; a repeated lora_B row's gradient is its share of
     * the fixture's.
     */
    @Test
    void multiHeadAttentionWithTheKeyValueHeadsRepeatedGivesTheFixturesOutputs(@TempDir Path tmp) throws IOException {
        JsonNode text = textConfig(Json.read(golden.resolve("model/config.json")));
        int heads = text.get("num_attention_heads").asInt();
        int kvHeads = text.get("num_key_value_heads").asInt();
        assumeTrue(kvHeads < heads, "the fixture already has multi-head attention");
        int groups = heads / kvHeads;
        int headDim = text.get("head_dim").asInt();
        UnaryOperator<TensorData> repeat = t -> isKeyOrValue(t.name()) && !t.name().contains(".lora_A.") ? repeatRows(t, headDim, groups) : t;
        Path model = writeModel(tmp.resolve("model"), c -> c.put("num_key_value_heads", heads), repeat);
        Path adapter = writeAdapter(tmp.resolve("adapter"), c -> { }, repeat);

        GemmaModel m = GemmaModel.load(model);
        assertTrue(m.config().kvHeads() == heads, "the variant loads as multi-head attention");
        float[] want = SafeTensorsFile.open(golden.resolve("base_outputs.safetensors")).get("logits").toFloats();
        double d = maxAbsDiff(logits(m), want);
        assertTrue(d <= 1e-4, "MHA base logits max |diff| " + d);
        int r = Json.read(golden.resolve("adapter/adapter_config.json")).get("r").asInt();
        checkAdapter(m, adapter,
                (module, which, grad) -> isKeyOrValue(module) && which == 'B' ? sumRowCopies(grad, headDim, groups, r) : grad);
    }

    /** rsLoRA scales by alpha/sqrt(r): with alpha * sqrt(r) / r it is the fixture's plain LoRA. */
    @Test
    void rsLoraWithTheEquivalentAlphaGivesTheFixturesOutputs(@TempDir Path tmp) throws IOException {
        JsonNode cfg = plainLoraConfig();
        double r = cfg.get("r").asDouble();
        double alpha = cfg.get("lora_alpha").asDouble();
        Path adapter = writeAdapter(tmp.resolve("adapter"), c -> c.put("use_rslora", true).put("lora_alpha", alpha * Math.sqrt(r) / r),
                UnaryOperator.identity());
        checkAdapter(GemmaModel.load(golden.resolve("model")), adapter, (module, which, grad) -> grad);
    }

    /**
     * rank_pattern and alpha_pattern give q_proj twice the rank with the same scaling: A padded with
     * zero rows and B with zero columns compute the fixture's delta, and the padding's gradients
     * are zero (each is multiplied by the other's padding).
     */
    @Test
    void rankAndAlphaPatternsWithZeroPaddingGiveTheFixturesOutputs(@TempDir Path tmp) throws IOException {
        JsonNode cfg = plainLoraConfig();
        int r = cfg.get("r").asInt();
        double alpha = cfg.get("lora_alpha").asDouble();
        UnaryOperator<TensorData> pad = t -> t.name().contains(".q_proj.") ? padRank(t, r) : t;
        Path adapter = writeAdapter(tmp.resolve("adapter"), c -> {
            c.putObject("rank_pattern").put("q_proj", 2 * r);
            c.putObject("alpha_pattern").put("q_proj", 2 * alpha);
        }, pad);
        checkAdapter(GemmaModel.load(golden.resolve("model")), adapter,
                (module, which, grad) -> module.endsWith(".q_proj") ? unpadRank(grad, which, r, grad.length / (2 * r)) : grad);
    }

    /**
     * An adapter on q_proj and v_proj alone (PEFT's usual partial target) over a base whose other
     * projections have the fixture's LoRA deltas merged in (W + scale * B A, summed in double here)
     * computes the fixture's function: the same logits, loss and q/v gradients.
     */
    @Test
    void partialTargetsOverTheOtherDeltasMergedGiveTheFixturesOutputs(@TempDir Path tmp) throws IOException {
        JsonNode cfg = plainLoraConfig();
        double scale = cfg.get("lora_alpha").asDouble() / cfg.get("r").asDouble();
        Set<String> kept = Set.of("q_proj", "v_proj");
        Map<String, TensorData> lora = SafeTensorsFile.open(golden.resolve("adapter/" + LoraAdapter.WEIGHTS)).tensors();
        Map<String, float[]> deltas = new LinkedHashMap<>();
        for (String name : lora.keySet()) {
            if (name.endsWith(".lora_A.weight") && !kept.contains(projection(name))) {
                String module = name.substring("base_model.model.".length(), name.length() - ".lora_A.weight".length());
                deltas.put(LoraAdapter.modulePath(module) + ".weight",
                        delta(lora.get(name), lora.get(name.replace(".lora_A.", ".lora_B.")), scale));
            }
        }
        Path model = writeModel(tmp.resolve("model"), c -> { }, 
                t -> deltas.containsKey(LoraAdapter.modulePath(t.name())) ? plus(t, deltas.remove(LoraAdapter.modulePath(t.name()))) : t);
        assertTrue(deltas.isEmpty(), "every merged module's weight was found in the checkpoint: " + deltas.keySet());
        Path adapter = writeAdapter(tmp.resolve("adapter"), c -> c.putArray("target_modules").add("q_proj").add("v_proj"),
                t -> kept.contains(projection(t.name())) ? t : null);
        checkAdapter(GemmaModel.load(model), adapter, (module, which, grad) -> grad);
    }

    /** The fixture's adapter_config.json; the identities here start from plain LoRA (no rsLoRA, no patterns). */
    static JsonNode plainLoraConfig() {
        JsonNode cfg = Json.read(golden.resolve("adapter/adapter_config.json"));
        assumeTrue(!cfg.path("use_rslora").asBoolean(false) && cfg.path("rank_pattern").isEmpty(), "the fixture is plain LoRA");
        return cfg;
    }

    interface GoldenGradient {
        /** The variant's gradient of a module's A or B, brought to the fixture's shape. */
        float[] toFixture(String module, char which, float[] grad);
    }

    /** The adapter's logits and loss equal the fixture's, and each of its gradients the fixture's for that module. */
    static void checkAdapter(GemmaModel m, Path adapterDir, GoldenGradient toFixture) {
        LoraAdapter adapter = LoraAdapter.load(adapterDir, m);
        adapter.attach(m);
        try {
            float[] want = SafeTensorsFile.open(golden.resolve("lora_outputs.safetensors")).get("logits").toFloats();
            double d = maxAbsDiff(logits(m), want);
            assertTrue(d <= 1e-4, "adapter logits max |diff| " + d);
            int targets = CrossEntropy.targets(batch.labels())[0].length;
            Backprop.Loss loss = new Backprop(m).lossAndGrad(batch.ids(), batch.mask(), batch.labels(), 1.0 / targets, false, 1);
            assertRelative(results.get("lora_loss").asDouble(), loss.mean(), 1e-5, "adapter loss");
            SafeTensorsFile grads = SafeTensorsFile.open(golden.resolve("lora_grads.safetensors"));
            for (LoraPair p : adapter.pairs().values()) {
                for (char which : new char[] {'A', 'B'}) {
                    TensorData g = grads.tensors().get(LoraAdapter.tensorName(p.module(), which));
                    assertNotNull(g, "the fixture has a gradient for " + p.module());
                    float[] got = toFixture.toFixture(p.module(), which, which == 'A' ? p.gradA() : p.gradB());
                    assertRelativeNorm(g.toFloats(), got, 1e-4, p.module() + " " + which);
                }
            }
        } finally {
            LoraAdapter.detach(m);
        }
    }

    static float[] logits(GemmaModel m) {
        return GoldenParityTest.logitsOf(m, batch);
    }

    /** The fixture's checkpoint with its language model's config edited and each tensor mapped. */
    static Path writeModel(Path dir, Consumer<ObjectNode> editText, UnaryOperator<TensorData> map) throws IOException {
        Files.createDirectories(dir);
        ObjectNode config = (ObjectNode) Json.read(golden.resolve("model/config.json"));
        editText.accept((ObjectNode) textConfig(config));
        Files.writeString(dir.resolve("config.json"), config.toPrettyString());
        SafeTensorsWriter.write(dir.resolve("model.safetensors"),
                CheckpointTensors.open(golden.resolve("model")).all().values().stream().map(map).toList(), Map.of("format", "pt"));
        return dir;
    }

    /** The fixture's adapter with its config edited and each tensor mapped (null drops it). */
    static Path writeAdapter(Path dir, Consumer<ObjectNode> edit, UnaryOperator<TensorData> map) throws IOException {
        Files.createDirectories(dir);
        ObjectNode config = (ObjectNode) Json.read(golden.resolve("adapter/" + LoraAdapter.CONFIG));
        edit.accept(config);
        Files.writeString(dir.resolve(LoraAdapter.CONFIG), config.toPrettyString());
        SafeTensorsWriter.write(dir.resolve(LoraAdapter.WEIGHTS), SafeTensorsFile.open(golden.resolve("adapter/" + LoraAdapter.WEIGHTS))
                .tensors().values().stream().map(map).filter(Objects::nonNull).toList(), Map.of("format", "pt"));
        return dir;
    }

    static JsonNode textConfig(JsonNode config) {
        return config.has("text_config") ? config.get("text_config") : config;
    }

    /** A language-model k_proj or v_proj (module, weight or LoRA tensor), not the vision tower's. */
    static boolean isKeyOrValue(String name) {
        String path = LoraAdapter.modulePath(name.startsWith("base_model.model.") ? name.substring("base_model.model.".length()) : name);
        return path.matches("model\\.(language_model\\.)?layers\\.\\d+\\.self_attn\\.[kv]_proj(\\..*)?");
    }

    /** "q_proj" for ...self_attn.q_proj.lora_A.weight. */
    static String projection(String tensorName) {
        String[] parts = tensorName.split("\\.");
        for (String p : parts) {
            if (p.endsWith("_proj")) {
                return p;
            }
        }
        throw new IllegalArgumentException(tensorName);
    }

    /** Rows in blocks of headDim, each block repeated groups times in place (k_proj/v_proj weights, their lora_B). */
    static TensorData repeatRows(TensorData t, int headDim, int groups) {
        float[] v = t.toFloats();
        int cols = t.dim(1);
        int blocks = t.dim(0) / headDim;
        float[] out = new float[v.length * groups];
        for (int b = 0; b < blocks; b++) {
            for (int g = 0; g < groups; g++) {
                System.arraycopy(v, b * headDim * cols, out, (b * groups + g) * headDim * cols, headDim * cols);
            }
        }
        return TensorData.ofFloats(t.name(), out, (long) blocks * groups * headDim, cols);
    }

    /** The gradient of a repeated [blocks * groups * headDim, cols] lora_B summed back over each block's copies. */
    static float[] sumRowCopies(float[] grad, int headDim, int groups, int cols) {
        int block = headDim * cols;
        float[] out = new float[grad.length / groups];
        for (int i = 0; i < grad.length; i++) {
            out[(i / block / groups) * block + i % block] += grad[i];
        }
        return out;
    }

    static TensorData padRank(TensorData t, int r) {
        float[] v = t.toFloats();
        boolean isA = t.name().contains(".lora_A.");
        int rows = t.dim(0);
        int cols = t.dim(1);
        float[] out = new float[v.length * 2];
        if (isA) {
            System.arraycopy(v, 0, out, 0, v.length);
            return TensorData.ofFloats(t.name(), out, 2L * rows, cols);
        }
        for (int i = 0; i < rows; i++) {
            System.arraycopy(v, i * cols, out, i * 2 * cols, cols);
        }
        return TensorData.ofFloats(t.name(), out, rows, 2L * cols);
    }

    /** The gradient of a padded A ([2r, in]) or B ([out, 2r]) without its padding, which must be zero. */
    static float[] unpadRank(float[] grad, char which, int r, int other) {
        float[] out = new float[grad.length / 2];
        for (int i = 0; i < grad.length; i++) {
            boolean padding = which == 'A' ? i / other >= r : i % (2 * r) >= r;
            if (padding) {
                assertTrue(grad[i] == 0, "the rank padding's gradient is zero");
            } else {
                out[which == 'A' ? i : (i / (2 * r)) * r + i % (2 * r)] = grad[i];
            }
        }
        return out;
    }

    static float[] delta(TensorData a, TensorData b, double scale) {
        int r = a.dim(0);
        int in = a.dim(1);
        int out = b.dim(0);
        float[] av = a.toFloats();
        float[] bv = b.toFloats();
        float[] d = new float[out * in];
        for (int o = 0; o < out; o++) {
            for (int i = 0; i < in; i++) {
                double s = 0;
                for (int k = 0; k < r; k++) {
                    s += (double) bv[o * r + k] * av[k * in + i];
                }
                d[o * in + i] = (float) (scale * s);
            }
        }
        return d;
    }

    static TensorData plus(TensorData w, float[] delta) {
        float[] v = w.toFloats();
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) ((double) v[i] + delta[i]);
        }
        return TensorData.ofFloats(w.name(), w.dtype(), v, w.shape());
    }
}
