package dev.gemmalora.gguf;

import dev.gemmalora.io.CheckpointTensors;
import dev.gemmalora.io.InputException;
import dev.gemmalora.io.TensorData;
import dev.gemmalora.lora.LoraAdapter;
import dev.gemmalora.lora.LoraMerge;
import dev.gemmalora.lora.LoraPair;
import dev.gemmalora.model.GemmaConfig;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A Gemma 2 checkpoint (or a LoRA adapter of one) as llama.cpp's architecture "gemma2" reads it:
 * the hyperparameters under gemma2.*, the tokenizer under tokenizer.*, and the tensors under
 * llama.cpp's names, as its own convert_hf_to_gguf.py and convert_lora_to_gguf.py write them.
 */
public final class Gemma2Gguf {
    static final String ARCH = "gemma2";
    private static final Pattern LAYER = Pattern.compile("model\\.layers\\.(\\d+)\\.(.+)");
    private static final Map<String, String> LAYER_NAMES = Map.ofEntries(
            Map.entry("input_layernorm", "attn_norm"),
            Map.entry("self_attn.q_proj", "attn_q"),
            Map.entry("self_attn.k_proj", "attn_k"),
            Map.entry("self_attn.v_proj", "attn_v"),
            Map.entry("self_attn.o_proj", "attn_output"),
            Map.entry("post_attention_layernorm", "post_attention_norm"),
            Map.entry("pre_feedforward_layernorm", "ffn_norm"),
            Map.entry("mlp.gate_proj", "ffn_gate"),
            Map.entry("mlp.up_proj", "ffn_up"),
            Map.entry("mlp.down_proj", "ffn_down"),
            Map.entry("post_feedforward_layernorm", "post_ffw_norm"));

    private Gemma2Gguf() {
    }

    /** One line saying why llama.cpp's gemma2 graph cannot compute this model, or nothing. */
    static void check(GemmaConfig c, Path modelDir) {
        String where = modelDir.resolve("config.json").toString();
        if (c.family() != GemmaConfig.Family.GEMMA2) {
            throw new InputException(where + ": model_type is " + c.family().modelType + " (" + c.family().title
                    + "); export gguf writes Gemma 2 checkpoints (llama.cpp architecture gemma2)");
        }
        if (!c.tieWordEmbeddings()) {
            throw new InputException(where + ": tie_word_embeddings is false; llama.cpp's gemma2 reads the output"
                    + " projection from the embedding, as every Gemma 2 checkpoint has it");
        }
        if (c.attnSoftcap() <= 0 || c.finalSoftcap() <= 0) {
            throw new InputException(where + ": attn_logit_softcapping/final_logit_softcapping is null; llama.cpp's gemma2"
                    + " always soft-caps both, as every Gemma 2 checkpoint does");
        }
        for (int l = 0; l < c.layers(); l++) {
            if (c.isSliding(l) != (l % 2 == 0)) {
                throw new InputException(where + ": layer " + l + " is " + (c.isSliding(l) ? "sliding" : "full")
                        + " attention; llama.cpp's gemma2 alternates sliding (even layers) and full (odd layers)");
            }
        }
    }

    /**
     * llama.cpp scales queries by 1/sqrt(head_dim) (by 1/sqrt(hidden/heads) for 46 layers, the
     * 27b), not by the checkpoint's query_pre_attn_scalar; where they differ the ratio is folded
     * into q_proj (and a q_proj LoRA's B) so the attention is the checkpoint's.
     */
    static float queryFold(GemmaConfig c) {
        double llamaDim = c.layers() == 46 ? (double) (c.hidden() / c.heads()) : c.headDim();
        double fold = Math.sqrt(llamaDim / c.queryPreAttnScalar());
        return Math.abs(fold - 1) < 1e-12 ? 1f : (float) fold;
    }

    /** llama.cpp's name for a module path (model.layers.3.self_attn.q_proj is blk.3.attn_q); null if it has none. */
    static String tensorName(String module) {
        if (module.equals("model.embed_tokens")) {
            return "token_embd";
        }
        if (module.equals("model.norm")) {
            return "output_norm";
        }
        Matcher m = LAYER.matcher(module);
        if (m.matches() && LAYER_NAMES.containsKey(m.group(2))) {
            return "blk." + m.group(1) + "." + LAYER_NAMES.get(m.group(2));
        }
        return null;
    }

    /** The base model; with an adapter (else null), the adapter merged into it as `merge` merges it. */
    public static GgufWriter model(Path modelDir, Path tokenizerDir, LoraAdapter merged, GgmlType type, String name) {
        GemmaConfig c = GemmaConfig.load(modelDir);
        check(c, modelDir);
        GgufWriter w = new GgufWriter();
        header(w, c, name, type.fileType);
        w.putString("general.type", "model");
        GgufVocab.read(tokenizerDir, c.vocabSize()).writeTo(w);
        float fold = queryFold(c);
        List<TensorData> tensors = CheckpointTensors.open(modelDir).all().values().stream()
                .sorted(Comparator.comparing(TensorData::name)).toList();
        for (TensorData t : tensors) {
            if (t.name().equals("lm_head.weight")) {
                continue; // the embedding, tied
            }
            String module = t.name().endsWith(".weight") ? t.name().substring(0, t.name().length() - ".weight".length()) : t.name();
            String gguf = tensorName(module);
            if (gguf == null) {
                throw new InputException(modelDir + ": tensor '" + t.name() + "' is not part of a Gemma 2 checkpoint");
            }
            TensorData source = merged == null ? t : LoraMerge.mergeOne(t, merged);
            w.add(tensor(gguf + ".weight", source, type, module.endsWith("self_attn.q_proj") ? fold : 1));
        }
        return w;
    }

    /**
     * Norm weights go as 1 + w in f32: Gemma's RMSNorm multiplies by (1 + w), llama.cpp's by the
     * stored weight (its converter adds the 1 too). Matrices take the requested type; a matrix
     * whose rows do not fill Q8_0 blocks goes as F16, as llama.cpp's converter does.
     */
    private static GgufTensor tensor(String name, TensorData source, GgmlType type, float scale) {
        if (source.shape().length == 1) {
            return new GgufTensor(name, GgmlType.F32, source, 1, 1);
        }
        GgmlType t = type.fits(source.shape()[1]) ? type : GgmlType.F16;
        return new GgufTensor(name, t, source, scale, 0);
    }

    /**
     * The adapter alone as llama.cpp's LoRA GGUF: per module lora_a [r, in] and lora_b [out, r],
     * F32, and one adapter.lora.alpha. llama.cpp scales every pair by alpha / r; PEFT scales
     * each module by its own alpha / r (alpha / sqrt(r) for rsLoRA, rank_pattern and
     * alpha_pattern per module), so where a module's scale differs the ratio goes into its B.
     */
    public static GgufWriter adapter(Path modelDir, LoraAdapter adapter, String name) {
        GemmaConfig c = GemmaConfig.load(modelDir);
        check(c, modelDir);
        GgufWriter w = new GgufWriter();
        header(w, c, name, GgmlType.F32.fileType);
        w.putString("general.type", "adapter");
        w.putString("adapter.type", "lora");
        LoraPair first = adapter.pairs().values().iterator().next();
        double alpha = first.scale() * first.rank();
        w.putF32("adapter.lora.alpha", alpha);
        float fold = queryFold(c);
        for (LoraPair p : adapter.pairs().values()) {
            String gguf = tensorName(p.module());
            if (gguf == null) {
                throw new InputException(modelDir + ": the adapter's module '" + p.module() + "' has no llama.cpp tensor");
            }
            double ratio = p.scale() * p.rank() / alpha * (p.module().endsWith("self_attn.q_proj") ? fold : 1);
            w.add(GgufTensor.of(gguf + ".weight.lora_a", GgmlType.F32, TensorData.ofFloats("a", p.a(), p.rank(), p.in())));
            w.add(new GgufTensor(gguf + ".weight.lora_b", GgmlType.F32, TensorData.ofFloats("b", p.b(), p.out(), p.rank()), (float) ratio, 0));
        }
        return w;
    }

    private static void header(GgufWriter w, GemmaConfig c, String name, int fileType) {
        w.putString("general.architecture", ARCH);
        w.putString("general.name", name);
        w.putU32("general.file_type", fileType);
        w.putU32("general.quantization_version", 2);
        w.putU32(ARCH + ".context_length", c.maxPositions());
        w.putU32(ARCH + ".embedding_length", c.hidden());
        w.putU32(ARCH + ".block_count", c.layers());
        w.putU32(ARCH + ".feed_forward_length", c.intermediate());
        w.putU32(ARCH + ".attention.head_count", c.heads());
        w.putU32(ARCH + ".attention.head_count_kv", c.kvHeads());
        w.putU32(ARCH + ".attention.key_length", c.headDim());
        w.putU32(ARCH + ".attention.value_length", c.headDim());
        w.putF32(ARCH + ".attention.layer_norm_rms_epsilon", c.rmsEps());
        w.putU32(ARCH + ".attention.sliding_window", c.slidingWindow());
        w.putF32(ARCH + ".attn_logit_softcapping", c.attnSoftcap());
        w.putF32(ARCH + ".final_logit_softcapping", c.finalSoftcap());
        w.putF32(ARCH + ".rope.freq_base", c.ropeTheta());
    }
}
