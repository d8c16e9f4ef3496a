package dev.gemmalora.model;

import dev.gemmalora.io.CheckpointTensors;
import dev.gemmalora.io.InputException;
import dev.gemmalora.io.TensorData;
import dev.gemmalora.tensor.Gemm;
import dev.gemmalora.tensor.Parallel;
import dev.gemmalora.tensor.Softcap;
import dev.gemmalora.tensor.Weight;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * A Gemma causal LM (Gemma 1, 2 or 3; see {@link GemmaConfig}) over memory-mapped weights in their stored dtype. The forward pass runs the
 * new tokens of every batch row at once (GEMMs over all tokens) on top of a KV cache, which makes
 * one code path serve full-sequence scoring, prefix reuse and incremental decoding.
 */
public final class GemmaModel {
    private final GemmaConfig config;
    private final Weight embed;
    private final Weight lmHead;
    private final float[] finalNorm;
    private final DecoderLayer[] layers;
    /** RoPE of full-attention layers and of sliding ones (the same for Gemma 1 and 2). */
    private final Rope rope;
    private final Rope localRope;
    private final Attention attention;
    private final float embedScale;

    private GemmaModel(GemmaConfig config, Weight embed, Weight lmHead, float[] finalNorm, DecoderLayer[] layers) {
        this.config = config;
        this.embed = embed;
        this.lmHead = lmHead;
        this.finalNorm = finalNorm;
        this.layers = layers;
        this.rope = new Rope(config.headDim(), config.ropeTheta(), config.ropeFactor());
        this.localRope = new Rope(config.headDim(), config.ropeLocalTheta(), config.ropeLocalFactor());
        this.attention = new Attention(config);
        // HF multiplies by sqrt(hidden) rounded to the activation dtype (fp32 here).
        this.embedScale = (float) Math.sqrt(config.hidden());
    }

    public static GemmaModel load(Path dir) {
        GemmaConfig cfg = GemmaConfig.load(dir);
        return fromTensors(cfg, CheckpointTensors.open(dir).all(), dir.toString());
    }

    /**
     * Builds the model from named tensors (HF names), checking every shape against the config. A
     * multimodal Gemma 3 checkpoint's language model may be stored under either of transformers'
     * layouts (language_model.model.* as it saves them, model.language_model.* as its modules are
     * named); the other tensors (the vision tower) are never read.
     */
    public static GemmaModel fromTensors(GemmaConfig c, Map<String, TensorData> t, String where) {
        String stored = c.weightPrefix();
        String head = c.multimodal() ? "language_model.lm_head.weight" : "lm_head.weight";
        if (c.multimodal() && !t.containsKey(stored + "embed_tokens.weight") && t.containsKey("model.language_model.embed_tokens.weight")) {
            stored = "model.language_model.";
            head = "lm_head.weight";
        }
        String prefix = stored;
        String headName = head;
        boolean separateHead = !c.tieWordEmbeddings() && t.containsKey(headName);
        return build(c, (name, rows, cols) -> matrix(t, stored(name, c, prefix, headName), rows, cols, where),
                (name, n) -> vector(t, stored(name, c, prefix, headName), n, where), separateHead);
    }

    /** The checkpoint's name of a tensor that build asks for by its text-model name (model.* and lm_head.weight). */
    private static String stored(String name, GemmaConfig c, String prefix, String head) {
        if (name.equals("lm_head.weight")) {
            return head;
        }
        return name.startsWith("model.") ? prefix + name.substring("model.".length()) : name;
    }

    /** Where a model's weights come from, by HF name and expected shape. */
    public interface MatrixSource {
        Weight get(String name, int rows, int cols);
    }

    public interface VectorSource {
        float[] get(String name, int n);
    }

    /**
     * Assembles the model one weight at a time, so a source can build each in place. Names are the
     * text model's (model.layers.N...); the projections are named for PEFT by the config's module
     * prefix. Gemma 1 has two norms a layer (its post_attention_layernorm is the feed-forward's
     * pre-norm); Gemma 3 adds q_norm and k_norm.
     */
    public static GemmaModel build(GemmaConfig c, MatrixSource m, VectorSource v, boolean separateHead) {
        Weight embed = m.get("model.embed_tokens.weight", c.vocabSize(), c.hidden());
        Weight head = separateHead ? m.get("lm_head.weight", c.vocabSize(), c.hidden()) : embed;
        DecoderLayer[] layers = new DecoderLayer[c.layers()];
        for (int i = 0; i < c.layers(); i++) {
            String p = "model.layers." + i + ".";
            String module = c.modulePrefix() + "layers." + i + ".";
            boolean sandwich = c.sandwichNorms();
            layers[i] = new DecoderLayer(i,
                    linear(m, p, module, "self_attn.q_proj", c.qDim(), c.hidden()),
                    linear(m, p, module, "self_attn.k_proj", c.kvDim(), c.hidden()),
                    linear(m, p, module, "self_attn.v_proj", c.kvDim(), c.hidden()),
                    linear(m, p, module, "self_attn.o_proj", c.hidden(), c.qDim()),
                    linear(m, p, module, "mlp.gate_proj", c.intermediate(), c.hidden()),
                    linear(m, p, module, "mlp.up_proj", c.intermediate(), c.hidden()),
                    linear(m, p, module, "mlp.down_proj", c.hidden(), c.intermediate()),
                    v.get(p + "input_layernorm.weight", c.hidden()),
                    sandwich ? v.get(p + "post_attention_layernorm.weight", c.hidden()) : null,
                    v.get(p + (sandwich ? "pre_feedforward_layernorm.weight" : "post_attention_layernorm.weight"), c.hidden()),
                    sandwich ? v.get(p + "post_feedforward_layernorm.weight", c.hidden()) : null,
                    c.qkNorm() ? v.get(p + "self_attn.q_norm.weight", c.headDim()) : null,
                    c.qkNorm() ? v.get(p + "self_attn.k_norm.weight", c.headDim()) : null);
        }
        return new GemmaModel(c, embed, head, v.get("model.norm.weight", c.hidden()), layers);
    }

    private static TensorData tensor(Map<String, TensorData> t, String name, String where) {
        TensorData d = t.get(name);
        if (d == null) {
            throw new InputException(where + ": tensor '" + name + "' is missing from the checkpoint");
        }
        return d;
    }

    private static Weight matrix(Map<String, TensorData> t, String name, int rows, int cols, String where) {
        TensorData d = tensor(t, name, where);
        if (d.shape().length != 2 || d.shape()[0] != rows || d.shape()[1] != cols) {
            throw new InputException(where + ": tensor '" + name + "' has shape " + Arrays.toString(d.shape())
                    + ", expected [" + rows + ", " + cols + "] from config.json");
        }
        return Weight.of(d);
    }

    private static Linear linear(MatrixSource m, String weightPath, String modulePath, String name, int out, int in) {
        return new Linear(modulePath + name, m.get(weightPath + name + ".weight", out, in));
    }

    private static float[] vector(Map<String, TensorData> t, String name, int n, String where) {
        TensorData d = tensor(t, name, where);
        if (d.shape().length != 1 || d.shape()[0] != n) {
            throw new InputException(where + ": tensor '" + name + "' has shape " + Arrays.toString(d.shape())
                    + ", expected [" + n + "]");
        }
        return d.toFloats();
    }

    public GemmaConfig config() {
        return config;
    }

    public DecoderLayer[] layers() {
        return layers;
    }

    float[] finalNorm() {
        return finalNorm;
    }

    /** The RoPE of layer index's attention type. */
    Rope rope(int layer) {
        return config.isSliding(layer) ? localRope : rope;
    }

    Attention attention() {
        return attention;
    }

    public Weight lmHead() {
        return lmHead;
    }

    /** Every adapted-or-adaptable projection, in layer order, by HF module path. */
    public List<Linear> linears() {
        List<Linear> all = new ArrayList<>();
        for (DecoderLayer l : layers) {
            all.addAll(Arrays.asList(l.projections()));
        }
        return all;
    }

    /** Embedding rows times sqrt(hidden), for ids [B][T] flattened row-major. */
    public float[] embed(int[][] ids) {
        int h = config.hidden();
        int tokens = ids[0].length;
        float[] x = new float[ids.length * tokens * h];
        for (int b = 0; b < ids.length; b++) {
            for (int i = 0; i < tokens; i++) {
                int id = ids[b][i];
                if (id < 0 || id >= config.vocabSize()) {
                    throw new InputException("token id " + id + " is outside the vocabulary [0, " + config.vocabSize() + ")");
                }
                int off = (b * tokens + i) * h;
                embed.row(id, x, off);
                for (int j = 0; j < h; j++) {
                    x[off + j] *= embedScale;
                }
            }
        }
        return x;
    }

    /**
     * Runs new tokens ids[B][T] (mask[B][T], 1 = real token, or null for all real) after what the
     * cache holds, appends their keys and values, and returns the final-normed hidden states
     * [B*T, hidden], padded positions included (as HF computes them). hiddenStates, if non-null, is
     * told each layer's input and then the output.
     */
    public float[] forward(int[][] ids, int[][] mask, KvCache cache, HiddenStates hiddenStates) {
        return forward(ids, mask, null, cache, hiddenStates);
    }

    /**
     * Runs new tokens that form a prefix tree in each row (see {@link TokenTree}) after what the
     * cache holds; padding is skipped. Each token's hidden state equals what the forward of its
     * root-to-token path alone would give. The cache's new slots hold the tree in row order, so it
     * serves no further steps.
     */
    public float[] forwardTree(int[][] ids, TokenTree tree, KvCache cache) {
        return forward(ids, tree.mask(), tree, cache, null);
    }

    private float[] forward(int[][] ids, int[][] mask, TokenTree tree, KvCache cache, HiddenStates hiddenStates) {
        int batch = ids.length;
        int tokens = ids[0].length;
        if (cache.batch() != batch) {
            throw new IllegalArgumentException("cache has " + cache.batch() + " rows, batch has " + batch);
        }
        cache.reserve(tokens, mask);
        int[] rows = tree != null ? tree.realRows() : null;
        int h = config.hidden();
        float[] x = Ops.gatherRows(embed(ids), rows, h);
        int n = rows == null ? batch * tokens : rows.length;
        LayerTape buffers = new LayerTape();
        for (DecoderLayer layer : layers) {
            if (hiddenStates != null) {
                hiddenStates.accept(layer.index, x);
            }
            x = layer.forward(this, x, batch, tokens, cache, rows, tree, buffers);
        }
        cache.advance(tokens);
        float[] out = Ops.scatterRows(Ops.rmsNorm(x, n, h, finalNorm, config.rmsEps()), rows, batch * tokens, h);
        if (hiddenStates != null) {
            hiddenStates.accept(layers.length, out);
        }
        return out;
    }

    /** Receives hidden states as HF's output_hidden_states lists them. */
    public interface HiddenStates {
        void accept(int index, float[] state);
    }

    /** Logits [rows.length, vocab] for the given rows of hidden [*, hidden], soft-capped. */
    public float[] logits(float[] hidden, int[] rows) {
        return logits(hidden, rows, null);
    }

    /**
     * {@link #logits(float[], int[])} into the first rows.length * vocab floats of into when it is
     * that long (a caller going through its rows in chunks passes the last chunk's array back: at
     * 256 rows each is 262 MB, which young collections would otherwise copy or sweep per chunk).
     */
    public float[] logits(float[] hidden, int[] rows, float[] into) {
        int h = config.hidden();
        float[] x = new float[rows.length * h];
        for (int i = 0; i < rows.length; i++) {
            System.arraycopy(hidden, rows[i] * h, x, i * h, h);
        }
        long need = (long) rows.length * config.vocabSize();
        float[] logits = into != null && into.length >= need ? into : new float[Math.toIntExact(need)];
        Gemm.matmulT(x, rows.length, lmHead, logits);
        float cap = (float) config.finalSoftcap();
        if (cap != 0) {
            int vocab = config.vocabSize();
            Parallel.forRange(rows.length, r -> Softcap.apply(logits, r * vocab, vocab, cap));
        }
        return logits;
    }

    /** Total parameter count (embedding counted once when tied). */
    public long parameterCount() {
        GemmaConfig c = config;
        long perLayer = (long) c.hidden() * (c.qDim() + 2L * c.kvDim()) + (long) c.qDim() * c.hidden()
                + 3L * c.hidden() * c.intermediate() + (c.sandwichNorms() ? 4L : 2L) * c.hidden() + (c.qkNorm() ? 2L * c.headDim() : 0);
        long head = lmHead == embed ? 0 : (long) c.vocabSize() * c.hidden();
        return (long) c.vocabSize() * c.hidden() + head + c.layers() * perLayer + c.hidden();
    }
}
