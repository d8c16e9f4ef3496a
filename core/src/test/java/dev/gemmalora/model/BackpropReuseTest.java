package dev.gemmalora.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.gemmalora.bench.RandomModel;
import dev.gemmalora.io.Json;
import dev.gemmalora.lora.LoraAdapter;
import dev.gemmalora.lora.LoraConfig;
import dev.gemmalora.lora.LoraInit;
import dev.gemmalora.lora.LoraPair;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A {@link Backprop} keeps its arrays from one batch to the next and reuses any that is long
 * enough, so after a longer batch every op works on arrays longer than its tensor. The loss and
 * gradients of a batch must not depend on what ran before it.
 */
class BackpropReuseTest {
    private static final int I = CrossEntropy.IGNORE;

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void aBatchAfterALongerOneGivesTheBitsOfAFreshPass(boolean checkpoint) throws Exception {
        GemmaConfig c = GemmaConfig.parse(Json.MAPPER.readTree("{\"model_type\":\"gemma2\",\"num_hidden_layers\":2,"
                + "\"vocab_size\":128,\"num_attention_heads\":2,\"num_key_value_heads\":1,\"head_dim\":32,\"hidden_size\":64,"
                + "\"intermediate_size\":128,\"sliding_window\":4,\"final_logit_softcapping\":30.0,"
                + "\"attn_logit_softcapping\":50.0}"), "tiny");
        GemmaModel m = RandomModel.build(c, 3);
        LoraAdapter adapter = LoraInit.create(m, LoraConfig.of(4, 8, 0.1, false, LoraConfig.ALL_PROJECTIONS), 5);
        Random r = new Random(11);
        for (LoraPair p : adapter.pairs().values()) {
            for (int i = 0; i < p.b().length; i++) {
                p.b()[i] = (float) r.nextGaussian() * 0.05f; // PEFT starts B at zero, which would leave A's gradients zero
            }
        }
        adapter.attach(m);
        try {
            int[][][] longer = batch(r, 14, 14, 9, 5);
            int[][][] shorter = batch(r, 10, 10, 6, 2);
            int[][][] full = batch(r, 7, 7, 7);
            Backprop reused = new Backprop(m);
            run(reused, adapter, longer, checkpoint, 1);
            for (int[][][] b : List.of(shorter, full)) {
                List<float[]> want = new ArrayList<>();
                double wantLoss = run(new Backprop(m), adapter, b, checkpoint, 2, want);
                List<float[]> got = new ArrayList<>();
                double gotLoss = run(reused, adapter, b, checkpoint, 2, got);
                assertEquals(wantLoss, gotLoss, 0.0, "loss");
                for (int i = 0; i < want.size(); i++) {
                    assertArrayEquals(want.get(i), got.get(i), "gradient " + i);
                }
            }
        } finally {
            LoraAdapter.detach(m);
        }
    }

    /** ids, mask and labels of rows with the given real lengths, right-padded to tokens; the first token unlabelled. */
    private static int[][][] batch(Random r, int tokens, int... lengths) {
        int[][] ids = new int[lengths.length][tokens];
        int[][] mask = new int[lengths.length][tokens];
        int[][] labels = new int[lengths.length][tokens];
        for (int b = 0; b < lengths.length; b++) {
            for (int t = 0; t < tokens; t++) {
                boolean real = t < lengths[b];
                ids[b][t] = real ? 3 + r.nextInt(125) : 0;
                mask[b][t] = real ? 1 : 0;
                labels[b][t] = real && t > 0 ? ids[b][t] : I;
            }
        }
        return new int[][][] {ids, mask, labels};
    }

    private static double run(Backprop bp, LoraAdapter adapter, int[][][] b, boolean checkpoint, long seed) {
        return run(bp, adapter, b, checkpoint, seed, new ArrayList<>());
    }

    private static double run(Backprop bp, LoraAdapter adapter, int[][][] b, boolean checkpoint, long seed, List<float[]> grads) {
        adapter.zeroGrad();
        double loss = bp.lossAndGrad(b[0], b[1], b[2], 0.01, checkpoint, seed).sum();
        for (float[] g : adapter.gradients()) {
            grads.add(g.clone());
        }
        return loss;
    }
}
