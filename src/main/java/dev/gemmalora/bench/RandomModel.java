package dev.gemmalora.bench;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gemmalora.io.DType;
import dev.gemmalora.io.Json;
import dev.gemmalora.io.TensorData;
import dev.gemmalora.model.Gemma2Config;
import dev.gemmalora.model.Gemma2Model;
import dev.gemmalora.tensor.Parallel;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.LinkedHashMap;
import java.util.Map;

/** A gemma-2-2b-shaped model with random BF16 weights built in off-heap memory: no download needed. */
public final class RandomModel {
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private RandomModel() {
    }

    /** gemma-2-2b's config.json with num_hidden_layers replaced. */
    public static Gemma2Config config2b(int layers) {
        ObjectNode c = Json.MAPPER.createObjectNode();
        c.put("model_type", "gemma2");
        c.put("vocab_size", 256000);
        c.put("hidden_size", 2304);
        c.put("intermediate_size", 9216);
        c.put("num_hidden_layers", layers);
        c.put("num_attention_heads", 8);
        c.put("num_key_value_heads", 4);
        c.put("head_dim", 256);
        c.put("query_pre_attn_scalar", 256);
        c.put("sliding_window", 4096);
        c.put("attn_logit_softcapping", 50.0);
        c.put("final_logit_softcapping", 30.0);
        c.put("rms_norm_eps", 1e-6);
        c.put("rope_theta", 10000.0);
        c.put("max_position_embeddings", 8192);
        c.put("hidden_activation", "gelu_pytorch_tanh");
        c.put("tie_word_embeddings", true);
        c.put("torch_dtype", "bfloat16");
        return Gemma2Config.parse(c, "gemma-2-2b shape");
    }

    public static Gemma2Model build(Gemma2Config c, long seed) {
        Arena arena = Arena.ofAuto();
        Map<String, TensorData> t = new LinkedHashMap<>();
        long[] counter = {seed};
        put(t, arena, "model.embed_tokens.weight", counter, c.vocabSize(), c.hidden());
        for (int i = 0; i < c.layers(); i++) {
            String p = "model.layers." + i + ".";
            put(t, arena, p + "self_attn.q_proj.weight", counter, c.qDim(), c.hidden());
            put(t, arena, p + "self_attn.k_proj.weight", counter, c.kvDim(), c.hidden());
            put(t, arena, p + "self_attn.v_proj.weight", counter, c.kvDim(), c.hidden());
            put(t, arena, p + "self_attn.o_proj.weight", counter, c.hidden(), c.qDim());
            put(t, arena, p + "mlp.gate_proj.weight", counter, c.intermediate(), c.hidden());
            put(t, arena, p + "mlp.up_proj.weight", counter, c.intermediate(), c.hidden());
            put(t, arena, p + "mlp.down_proj.weight", counter, c.hidden(), c.intermediate());
            for (String n : new String[] {"input_layernorm", "post_attention_layernorm", "pre_feedforward_layernorm",
                    "post_feedforward_layernorm"}) {
                t.put(p + n + ".weight", TensorData.ofFloats(p + n + ".weight", DType.BF16, new float[c.hidden()], c.hidden()));
            }
        }
        t.put("model.norm.weight", TensorData.ofFloats("model.norm.weight", DType.BF16, new float[c.hidden()], c.hidden()));
        return Gemma2Model.fromTensors(c, t, "random gemma-2-2b-shaped model");
    }

    /** Uniform values of about the init scale (std 0.02), from a counter-based hash so threads fill in any order. */
    private static void put(Map<String, TensorData> t, Arena arena, String name, long[] counter, int rows, int cols) {
        MemorySegment seg = arena.allocate((long) rows * cols * 2, 64);
        long stream = counter[0]++ * 0x9E3779B97F4A7C15L;
        int chunk = 1 << 16;
        long n = (long) rows * cols;
        int chunks = (int) ((n + chunk - 1) / chunk);
        Parallel.forRange(chunks, ci -> {
            long end = Math.min(n, (long) (ci + 1) * chunk);
            for (long i = (long) ci * chunk; i < end; i++) {
                long z = (i + stream) * 0xBF58476D1CE4E5B9L;
                z = (z ^ (z >>> 31)) * 0x94D049BB133111EBL;
                float u = ((z >>> 40) / (float) (1L << 24)) * 2f - 1f;
                seg.setAtIndex(I16, i, DType.floatToBf16(u * 0.035f));
            }
        });
        t.put(name, new TensorData(name, DType.BF16, new long[] {rows, cols}, seg));
    }
}
