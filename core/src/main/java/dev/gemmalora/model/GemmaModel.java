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
 * A Gemma-2 causal LM over memory-mapped weights in their stored dtype. The forward pass runs the
 * new tokens of every batch row at once (GEMMs over all tokens) on top of a KV cache, which makes
 * one code path serve full-sequence scoring, prefix reuse and incremental decoding.
 */
public final class GemmaModel {
    private final GemmaConfig config;
    private final Weight embed;
    private final Weight lmHead;
    private final float[] finalNorm;
    private final DecoderLayer[] layers;
    private final Rope rope;
    private final Attention attention;
    private final float embedScale;

    private GemmaModel(GemmaConfig config, Weight embed, Weight lmHead, float[] finalNorm, DecoderLayer[] layers) {
        this.config = config;
        this.embed = embed;
        this.lmHead = lmHead;
        this.finalNorm = finalNorm;
        this.layers = layers;
        this.rope = new Rope(config.headDim(), config.ropeTheta());
        this.attention = new Attention(config);
        // HF multiplies by sqrt(hidden) rounded to the activation dtype (fp32 here).
        this.embedScale = (float) Math.sqrt(config.hidden());
    }

    public static GemmaModel load(Path dir) {
        GemmaConfig cfg = GemmaConfig.load(dir);
        return fromTensors(cfg, CheckpointTensors.open(dir).all(), dir.toString());
    }

    /** Builds the model from named tensors (HF names), checking every shape against the config. */
    public static GemmaModel fromTensors(GemmaConfig c, Map<String, TensorData> t, String where) {
        boolean separateHead = !c.tieWordEmbeddings() && t.containsKey("lm_head.weight");
        return build(c, (name, rows, cols) -> matrix(t, name, rows, cols, where), (name, n) -> vector(t, name, n, where), separateHead);
    }

    /** Where a model's weights come from, by HF name and expected shape. */
    public interface MatrixSource {
        Weight get(String name, int rows, int cols);
    }

    public interface VectorSource {
        float[] get(String name, int n);
    }

    /** Assembles the model one weight at a time, so a source can build each in place. */
    public static GemmaModel build(GemmaConfig c, MatrixSource m, VectorSource v, boolean separateHead) {
        Weight embed = m.get("model.embed_tokens.weight", c.vocabSize(), c.hidden());
        Weight head = separateHead ? m.get("lm_head.weight", c.vocabSize(), c.hidden()) : embed;
        DecoderLayer[] layers = new DecoderLayer[c.layers()];
        for (int i = 0; i < c.layers(); i++) {
            String p = "model.layers." + i + ".";
            layers[i] = new DecoderLayer(i,
                    linear(m, p + "self_attn.q_proj", c.qDim(), c.hidden()),
                    linear(m, p + "self_attn.k_proj", c.kvDim(), c.hidden()),
                    linear(m, p + "self_attn.v_proj", c.kvDim(), c.hidden()),
                    linear(m, p + "self_attn.o_proj", c.hidden(), c.qDim()),
                    linear(m, p + "mlp.gate_proj", c.intermediate(), c.hidden()),
                    linear(m, p + "mlp.up_proj", c.intermediate(), c.hidden()),
                    linear(m, p + "mlp.down_proj", c.hidden(), c.intermediate()),
                    v.get(p + "input_layernorm.weight", c.hidden()),
                    v.get(p + "post_attention_layernorm.weight", c.hidden()),
                    v.get(p + "pre_feedforward_layernorm.weight", c.hidden()),
                    v.get(p + "post_feedforward_layernorm.weight", c.hidden()));
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

    private static Linear linear(MatrixSource m, String module, int out, int in) {
        return new Linear(module, m.get(module + ".weight", out, in));
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

    Rope rope() {
        return rope;
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
                + 3L * c.hidden() * c.intermediate() + 4L * c.hidden();
        long head = lmHead == embed ? 0 : (long) c.vocabSize() * c.hidden();
        return (long) c.vocabSize() * c.hidden() + head + c.layers() * perLayer + c.hidden();
    }
}
