package dev.gemmalora.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gemmalora.GoldenPaths;
import dev.gemmalora.io.Json;
import dev.gemmalora.io.SafeTensorsWriter;
import dev.gemmalora.io.TensorData;
import dev.gemmalora.lora.LoraAdapter;
import dev.gemmalora.lora.LoraConfig;
import dev.gemmalora.lora.LoraPair;
import dev.gemmalora.model.GemmaModel;
import dev.gemmalora.model.Linear;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * A small random Gemma 2 checkpoint with the real 256k tokenizer, written as transformers saves
 * one: 4 layers (sliding, full, sliding, full) of hidden size 64, soft-capping, a sliding window
 * of 8 tokens. Sixteen tokens have embedding rows three times the others' (FAVOURED), so the
 * next token is usually one of them by a clear margin, as a trained model's is, not a near tie
 * among 256k random logits that any rounding could flip.
 */
final class TinyGemma2 {
    static final int VOCAB = 256000;
    static final int HIDDEN = 64;
    static final int INTERMEDIATE = 128;
    static final int LAYERS = 4;

    private TinyGemma2() {
    }

    static Path write(Path dir, long seed, int queryPreAttnScalar) throws IOException {
        return write(dir, seed, queryPreAttnScalar, 1.0);
    }

    /** With gateGain 0 every gate_proj is zero, so GELU only ever sees 0 and the MLPs add nothing. */
    static Path write(Path dir, long seed, int queryPreAttnScalar, double gateGain) throws IOException {
        Files.createDirectories(dir);
        ObjectNode c = Json.MAPPER.createObjectNode();
        c.putArray("architectures").add("Gemma2ForCausalLM");
        c.put("model_type", "gemma2").put("vocab_size", VOCAB).put("hidden_size", HIDDEN).put("intermediate_size", INTERMEDIATE)
                .put("num_hidden_layers", LAYERS).put("num_attention_heads", 4).put("num_key_value_heads", 2).put("head_dim", 16)
                .put("query_pre_attn_scalar", queryPreAttnScalar).put("sliding_window", 8).put("attn_logit_softcapping", 50.0)
                .put("final_logit_softcapping", 30.0).put("rms_norm_eps", 1e-6).put("rope_theta", 10000.0)
                .put("hidden_activation", "gelu_pytorch_tanh").put("max_position_embeddings", 512).put("pad_token_id", 0)
                .put("bos_token_id", 2).put("eos_token_id", 1).put("tie_word_embeddings", true).put("torch_dtype", "float32");
        Files.writeString(dir.resolve("config.json"), c.toPrettyString());
        Random r = new Random(seed);
        List<TensorData> t = new ArrayList<>();
        TensorData embedding = matrix("model.embed_tokens.weight", VOCAB, HIDDEN, 1.0, r);
        float[] e = embedding.toFloats();
        for (int k = 0; k < 16; k++) {
            int row = 1000 + k * 15000;
            for (int j = 0; j < HIDDEN; j++) {
                e[row * HIDDEN + j] *= 3;
            }
        }
        t.add(TensorData.ofFloats(embedding.name(), e, VOCAB, HIDDEN));
        t.add(vector("model.norm.weight", r));
        for (int l = 0; l < LAYERS; l++) {
            String p = "model.layers." + l + ".";
            for (String norm : List.of("input_layernorm", "post_attention_layernorm", "pre_feedforward_layernorm", "post_feedforward_layernorm")) {
                t.add(vector(p + norm + ".weight", r));
            }
            t.add(matrix(p + "self_attn.q_proj.weight", 64, HIDDEN, 2.0, r));
            t.add(matrix(p + "self_attn.k_proj.weight", 32, HIDDEN, 2.0, r));
            t.add(matrix(p + "self_attn.v_proj.weight", 32, HIDDEN, 1.0, r));
            t.add(matrix(p + "self_attn.o_proj.weight", HIDDEN, 64, 1.0, r));
            t.add(matrix(p + "mlp.gate_proj.weight", INTERMEDIATE, HIDDEN, gateGain, r));
            t.add(matrix(p + "mlp.up_proj.weight", INTERMEDIATE, HIDDEN, 1.0, r));
            t.add(matrix(p + "mlp.down_proj.weight", HIDDEN, INTERMEDIATE, 1.0, r));
        }
        SafeTensorsWriter.write(dir.resolve("model.safetensors"), t, Map.of("format", "pt"));
        for (String f : List.of("tokenizer.json", "tokenizer_config.json")) {
            Files.copy(GoldenPaths.shared().resolve("tokenizers/gemma").resolve(f), dir.resolve(f));
        }
        return dir;
    }

    /** Gaussian values of standard deviation gain / sqrt(cols). */
    private static TensorData matrix(String name, int rows, int cols, double gain, Random r) {
        float[] v = new float[rows * cols];
        double std = gain / Math.sqrt(cols);
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (r.nextGaussian() * std);
        }
        return TensorData.ofFloats(name, v, rows, cols);
    }

    private static TensorData vector(String name, Random r) {
        float[] v = new float[HIDDEN];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (r.nextGaussian() * 0.1);
        }
        return TensorData.ofFloats(name, v, HIDDEN);
    }

    /** A PEFT adapter on the given projections with random A and B (so it changes the outputs), saved to dir. */
    static Path adapter(Path dir, Path modelDir, long seed, boolean rslora, List<String> targets) throws IOException {
        GemmaModel m = GemmaModel.load(modelDir);
        LoraConfig cfg = LoraConfig.of(4, 16, 0, rslora, targets);
        Random r = new Random(seed);
        Map<String, LoraPair> pairs = new LinkedHashMap<>();
        for (Linear l : m.linears()) {
            if (!cfg.targets(l.module())) {
                continue;
            }
            float[] a = new float[4 * l.in()];
            float[] b = new float[l.out() * 4];
            for (int i = 0; i < a.length; i++) {
                a[i] = (float) (r.nextGaussian() / Math.sqrt(l.in()));
            }
            for (int i = 0; i < b.length; i++) {
                b[i] = (float) (r.nextGaussian() * 0.1);
            }
            pairs.put(l.module(), new LoraPair(l.module(), 4, l.in(), l.out(), cfg.scaleFor(l.module()), a, b));
        }
        new LoraAdapter(cfg, pairs).save(dir);
        return dir;
    }
}
