package dev.gemmalora.bench;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gemmalora.io.DType;
import dev.gemmalora.io.Json;
import dev.gemmalora.model.GemmaConfig;
import dev.gemmalora.model.GemmaModel;
import dev.gemmalora.tensor.Parallel;
import dev.gemmalora.tensor.Weight;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import dev.gemmalora.io.InputException;
import java.nio.ByteOrder;
import java.util.List;
import java.util.Random;

/** A model of a real Gemma shape with random BF16 weights built in off-heap memory: no download needed. */
public final class RandomModel {
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private RandomModel() {
    }

    /** The shapes bench can build: the real configs of these checkpoints (Gemma 3 4B: its language model). */
    public static final List<String> SHAPES = List.of("gemma-2-2b", "gemma-3-1b", "gemma-3-4b", "gemma-2b");

    /** gemma-2-2b's config.json with num_hidden_layers replaced. */
    public static GemmaConfig config2b(int layers) {
        return shape("gemma-2-2b", layers);
    }

    /**
     * The config.json of a shape in SHAPES (as the Hub's files write it), with num_hidden_layers
     * replaced unless layers is 0.
     */
    public static GemmaConfig shape(String name, int layers) {
        ObjectNode c = Json.MAPPER.createObjectNode();
        c.put("head_dim", 256);
        c.put("query_pre_attn_scalar", 256);
        c.put("rms_norm_eps", 1e-6);
        c.put("hidden_activation", "gelu_pytorch_tanh");
        c.put("tie_word_embeddings", true);
        c.put("torch_dtype", "bfloat16");
        switch (name) {
            case "gemma-2-2b" -> {
                c.put("model_type", "gemma2");
                dims(c, 256000, 2304, 9216, 26, 8, 4);
                c.put("sliding_window", 4096);
                c.put("attn_logit_softcapping", 50.0);
                c.put("final_logit_softcapping", 30.0);
                c.put("rope_theta", 10000.0);
                c.put("max_position_embeddings", 8192);
            }
            case "gemma-3-1b", "gemma-3-4b" -> {
                boolean small = name.equals("gemma-3-1b");
                c.put("model_type", "gemma3_text");
                dims(c, small ? 262144 : 262208, small ? 1152 : 2560, small ? 6912 : 10240, small ? 26 : 34, small ? 4 : 8, small ? 1 : 4);
                c.put("sliding_window", small ? 512 : 1024);
                c.put("sliding_window_pattern", 6);
                c.putNull("attn_logit_softcapping");
                c.putNull("final_logit_softcapping");
                c.put("rope_theta", 1000000.0);
                c.put("rope_local_base_freq", 10000.0);
                if (!small) {
                    c.putObject("rope_scaling").put("rope_type", "linear").put("factor", 8.0);
                }
                c.put("max_position_embeddings", small ? 32768 : 131072);
            }
            case "gemma-2b" -> {
                c.put("model_type", "gemma");
                c.remove("query_pre_attn_scalar");
                dims(c, 256000, 2048, 16384, 18, 8, 1);
                c.put("rope_theta", 10000.0);
                c.put("max_position_embeddings", 8192);
            }
            default -> throw new InputException("--shape: unknown shape '" + name + "', expected one of " + SHAPES);
        }
        if (layers > 0) {
            c.put("num_hidden_layers", layers);
        }
        return GemmaConfig.parse(c, name + " shape");
    }

    private static void dims(ObjectNode c, int vocab, int hidden, int intermediate, int layers, int heads, int kvHeads) {
        c.put("vocab_size", vocab);
        c.put("hidden_size", hidden);
        c.put("intermediate_size", intermediate);
        c.put("num_hidden_layers", layers);
        c.put("num_attention_heads", heads);
        c.put("num_key_value_heads", kvHeads);
    }

    /** Each weight is generated straight into its packed form, so the model is never held twice. */
    public static GemmaModel build(GemmaConfig c, long seed) {
        long[] counter = {seed};
        return GemmaModel.build(c, (name, rows, cols) -> random(name, counter, rows, cols), (name, n) -> new float[n], false);
    }

    /**
     * Uniform values of about the init scale (std 0.02), from a counter-based hash so threads fill in
     * any order. The values are i.i.d., so they are written in panel order directly.
     */
    private static Weight random(String name, long[] counter, int rows, int cols) {
        Weight w = Weight.allocate(name, DType.BF16, rows, cols);
        if (rows % Weight.PANEL != 0) {
            throw new IllegalArgumentException(name + ": rows " + rows + " are not a whole number of panels");
        }
        MemorySegment seg = w.data();
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
        return w;
    }

    /** batch x seq random token ids above pad, eos and bos (0-2). */
    public static int[][] randomIds(int batch, int seq, int vocab, long seed) {
        Random r = new Random(seed);
        int[][] ids = new int[batch][seq];
        for (int[] row : ids) {
            for (int i = 0; i < seq; i++) {
                row[i] = 3 + r.nextInt(vocab - 3);
            }
        }
        return ids;
    }
}
