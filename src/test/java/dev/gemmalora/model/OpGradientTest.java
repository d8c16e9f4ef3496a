package dev.gemmalora.model;

import dev.gemmalora.io.Json;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Every backward op of the Gemma-2 layer against finite differences on tiny shapes. */
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
        FiniteDifference.check(v -> Ops.rmsNorm(v, rows, n, w, 1e-6), x, dy, dx, "rmsnorm");
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
            float[] y = new float[v.length];
            for (int i = 0; i < v.length; i++) {
                y[i] = Ops.geluTanh(v[i]);
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
        FiniteDifference.check(v -> {
            float[] y = v.clone();
            rope.apply(y, tokens, tokens, heads, 3, 1);
            return y;
        }, x, dy, dx, "rope");
    }

    static Gemma2Config tinyConfig(boolean softcap) throws Exception {
        return Gemma2Config.parse(Json.MAPPER.readTree("{\"model_type\":\"gemma2\",\"num_hidden_layers\":1,"
                + "\"num_attention_heads\":4,\"num_key_value_heads\":2,\"head_dim\":4,\"hidden_size\":8,"
                + "\"query_pre_attn_scalar\":6,\"sliding_window\":3,\"attn_logit_softcapping\":"
                + (softcap ? "1.5" : "null") + ",\"layer_types\":[\"sliding_attention\"]}"), "tiny");
    }

    /** Attention output as a function of one of q, k, v (the other two fixed), on a padded batch. */
    static float[] attend(Gemma2Config c, float[] q, float[] k, float[] v, int[][] mask) {
        KvCache cache = KvCache.forModel(c, 2, 6);
        cache.reserve(6, mask);
        cache.store(0, k, v, 6);
        return new Attention(c).forward(q, 2, 6, cache, 0, true, c.slidingWindow(), null);
    }

    void checkAttention(boolean softcap) throws Exception {
        Gemma2Config c = tinyConfig(softcap);
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
        new Attention(c).forward(q, 2, 6, cache, 0, true, c.slidingWindow(), probs);
        float[][] g = new Attention(c).backward(q, probs, dy, 2, 6, cache, 0, true, c.slidingWindow());
        String tag = softcap ? " (soft-capped)" : "";
        FiniteDifference.check(x -> attend(c, x, k, v, mask), q, dy, g[0], "attention dq" + tag);
        FiniteDifference.check(x -> attend(c, q, x, v, mask), k, dy, g[1], "attention dk" + tag);
        FiniteDifference.check(x -> attend(c, q, k, x, mask), v, dy, g[2], "attention dv" + tag);
    }

    @Test
    void slidingGqaAttentionWithSoftcap() throws Exception {
        checkAttention(true);
    }

    @Test
    void slidingGqaAttentionWithoutSoftcap() throws Exception {
        checkAttention(false);
    }
}
