package dev.gemmalora.model;

import dev.gemmalora.io.Json;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Every backward op of the Gemma layers (1, 2 and 3) against finite differences on tiny shapes. */
class OpGradientTest {
    final Random rng = new Random(7);

    @Test
    void rmsNormWithOnePlusW() {
        int rows = 3;
        int n = 6;
        float[] x = FiniteDifference.random(rng, rows * n);
        float[] w = FiniteDifference.random(rng, n);
        float[] dy = FiniteDifference.random(rng, rows * n);
        float[] dx = Ops.rmsNormBackward(x, rows, n, w, 1e-6, dy);
        FiniteDifference.check(v -> DoubleReference.rmsNorm(v, rows, n, DoubleReference.widen(w), 1e-6), x, dy, dx, "rmsnorm");
    }

    @Test
    void geluTanh() {
        float[] x = FiniteDifference.random(rng, 20);
        float[] dy = FiniteDifference.random(rng, 20);
        float[] dx = new float[20];
        for (int i = 0; i < 20; i++) {
            dx[i] = dy[i] * Ops.geluTanhGrad(x[i]);
        }
        FiniteDifference.check(v -> {
            double[] y = new double[v.length];
            for (int i = 0; i < v.length; i++) {
                y[i] = DoubleReference.gelu(v[i]);
            }
            return y;
        }, x, dy, dx, "gelu_tanh");
    }

    @Test
    void ropeBackwardIsTheInverseRotation() {
        Rope rope = new Rope(8, 10000);
        int tokens = 5;
        int heads = 2;
        float[] x = FiniteDifference.random(rng, tokens * heads * 8);
        float[] dy = FiniteDifference.random(rng, x.length);
        float[] dx = dy.clone();
        rope.apply(dx, tokens, tokens, heads, 3, -1);
        FiniteDifference.check(v -> DoubleReference.rope(v, tokens, heads, 8, 3, 10000), x, dy, dx, "rope");
    }

    /**
     * Gemma 3's query (and key) path before attention: RMSNorm over each head, then RoPE with
     * linear scaling; its backward is the inverse rotation, then the norm's backward per head.
     */
    @Test
    void perHeadNormThenScaledRope() {
        int tokens = 4;
        int heads = 3;
        int dim = 8;
        Rope rope = new Rope(dim, 1e6, 8);
        float[] x = FiniteDifference.random(rng, tokens * heads * dim);
        float[] w = FiniteDifference.random(rng, dim);
        float[] dy = FiniteDifference.random(rng, x.length);
        float[] dNormed = dy.clone();
        rope.apply(dNormed, tokens, tokens, heads, 2, -1);
        float[] dx = Ops.rmsNormBackward(x, tokens * heads, dim, w, 1e-6, dNormed);
        FiniteDifference.check(v -> DoubleReference.rope(DoubleReference.rmsNorm(v, tokens * heads, dim, DoubleReference.widen(w), 1e-6),
                tokens, heads, dim, 2, 1e6, 8), x, dy, dx, "q_norm + linear RoPE");
    }

    static GemmaConfig tinyConfig(boolean softcap) throws Exception {
        return GemmaConfig.parse(Json.MAPPER.readTree("{\"model_type\":\"gemma2\",\"num_hidden_layers\":1,"
                + "\"num_attention_heads\":4,\"num_key_value_heads\":2,\"head_dim\":4,\"hidden_size\":8,"
                + "\"query_pre_attn_scalar\":6,\"sliding_window\":3,\"attn_logit_softcapping\":"
                + (softcap ? "1.5" : "null") + ",\"layer_types\":[\"sliding_attention\"]}"), "tiny");
    }

    /** The double twin of the tiny config's attention on the padded batch. */
    static double[] attend(GemmaConfig c, double[] q, double[] k, double[] v, int[][] mask) {
        return DoubleReference.attention(q, k, v, 2, 6, c.heads(), c.kvHeads(), c.headDim(), Math.pow(c.queryPreAttnScalar(), -0.5),
                c.attnSoftcap(), mask, c.slidingWindow());
    }

    void checkAttention(boolean softcap) throws Exception {
        GemmaConfig c = tinyConfig(softcap);
        int[][] mask = {{1, 1, 1, 1, 1, 1}, {1, 1, 1, 1, 0, 0}};
        int n = 12;
        float[] q = FiniteDifference.random(rng, n * c.qDim());
        float[] k = FiniteDifference.random(rng, n * c.kvDim());
        float[] v = FiniteDifference.random(rng, n * c.kvDim());
        float[] dy = FiniteDifference.random(rng, n * c.qDim());
        // Padded query positions have no loss in training: their output gradient is zero.
        for (int t = 10; t < 12; t++) {
            for (int i = 0; i < c.qDim(); i++) {
                dy[t * c.qDim() + i] = 0;
            }
        }
        KvCache cache = KvCache.forModel(c, 2, 6);
        cache.reserve(6, mask);
        cache.store(0, k, v, 6);
        float[][][][] probs = new float[2][c.heads()][6][6];
        new Attention(c).forward(q, 2, 6, cache, 0, true, c.slidingWindow(), probs, null);
        float[][] g = new Attention(c).backward(q, probs, dy, 2, 6, cache, 0, true, c.slidingWindow());
        String tag = softcap ? " (soft-capped)" : "";
        double[] qd = DoubleReference.widen(q);
        double[] kd = DoubleReference.widen(k);
        double[] vd = DoubleReference.widen(v);
        FiniteDifference.check(x -> attend(c, x, kd, vd, mask), q, dy, g[0], "attention dq" + tag);
        FiniteDifference.check(x -> attend(c, qd, x, vd, mask), k, dy, g[1], "attention dk" + tag);
        FiniteDifference.check(x -> attend(c, qd, kd, x, mask), v, dy, g[2], "attention dv" + tag);
    }

    @Test
    void slidingGqaAttentionWithSoftcap() throws Exception {
        checkAttention(true);
    }

    @Test
    void slidingGqaAttentionWithoutSoftcap() throws Exception {
        checkAttention(false);
    }

    /**
     * The GeGLU product's two input gradients as the MLP backward forms them (19 elements: two
     * 8-lane vectors and a scalar tail).
     */
    @Test
    void gegluGate() {
        float[] gate = FiniteDifference.random(rng, 19);
        float[] up = FiniteDifference.random(rng, 19);
        float[] dy = FiniteDifference.random(rng, 19);
        float[] dGate = new float[19];
        float[] dUp = new float[19];
        Ops.gegluBackward(dy, gate, up, dGate, dUp, gate.length);
        FiniteDifference.check(v -> DoubleReference.geglu(v, DoubleReference.widen(up)), gate, dy, dGate, "geglu d(gate)");
        FiniteDifference.check(v -> DoubleReference.geglu(DoubleReference.widen(gate), v), up, dy, dUp, "geglu d(up)");
    }

    /** Final soft-capping and masked cross-entropy through the tied vocabulary projection, into the hidden states. */
    @Test
    void softcappedCrossEntropyHead() throws Exception {
        GemmaConfig c = GemmaConfig.parse(Json.MAPPER.readTree("{\"model_type\":\"gemma2\",\"num_hidden_layers\":1,"
                + "\"vocab_size\":11,\"num_attention_heads\":2,\"num_key_value_heads\":1,\"head_dim\":4,\"hidden_size\":6,"
                + "\"intermediate_size\":8,\"final_logit_softcapping\":2.0}"), "tiny");
        java.util.Map<String, dev.gemmalora.io.TensorData> t = new java.util.HashMap<>();
        float[] embed = FiniteDifference.random(rng, 11 * 6);
        t.put("model.embed_tokens.weight", dev.gemmalora.io.TensorData.ofFloats("e", embed, 11, 6));
        t.put("model.norm.weight", dev.gemmalora.io.TensorData.ofFloats("n", new float[6], 6));
        String p = "model.layers.0.";
        for (String[] w : new String[][] {{"self_attn.q_proj", "8", "6"}, {"self_attn.k_proj", "4", "6"}, {"self_attn.v_proj", "4", "6"},
                {"self_attn.o_proj", "6", "8"}, {"mlp.gate_proj", "8", "6"}, {"mlp.up_proj", "8", "6"}, {"mlp.down_proj", "6", "8"}}) {
            int rows = Integer.parseInt(w[1]);
            int cols = Integer.parseInt(w[2]);
            t.put(p + w[0] + ".weight", dev.gemmalora.io.TensorData.ofFloats(w[0], new float[rows * cols], rows, cols));
        }
        for (String n : new String[] {"input_layernorm", "post_attention_layernorm", "pre_feedforward_layernorm", "post_feedforward_layernorm"}) {
            t.put(p + n + ".weight", dev.gemmalora.io.TensorData.ofFloats(n, new float[6], 6));
        }
        GemmaModel m = GemmaModel.fromTensors(c, t, "tiny");
        int[][] labels = {{-100, 3, 7, -100, 10}};
        float[] hidden = FiniteDifference.random(rng, 5 * 6);
        float[] dHidden = new float[hidden.length];
        Backprop.headLossAndGrad(m, hidden, labels, null, 1f, dHidden);
        int[][] tg = CrossEntropy.targets(labels);
        FiniteDifference.check(h -> {
            double[] rows = new double[tg[0].length * 6];
            for (int i = 0; i < tg[0].length; i++) {
                System.arraycopy(h, tg[0][i] * 6, rows, i * 6, 6);
            }
            return DoubleReference.crossEntropy(rows, tg[0].length, 6, DoubleReference.widen(embed), 11, 2.0, tg[1]);
        }, hidden, dHidden, "soft-capped cross-entropy");
    }
}
