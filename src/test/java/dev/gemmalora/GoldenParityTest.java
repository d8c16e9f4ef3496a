package dev.gemmalora;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gemmalora.io.Json;
import dev.gemmalora.io.SafeTensorsFile;
import dev.gemmalora.io.TensorData;
import dev.gemmalora.model.Gemma2Model;
import dev.gemmalora.model.KvCache;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Every check against reference outputs of transformers + peft. Inputs come from system
 * properties (golden.dir, golden.mc.dir, golden.tokenizer) so the same checks run on any fixture
 * of the same layout.
 */
class GoldenParityTest {
    static Path t1;
    static Gemma2Model model;
    static Batch batch;

    record Batch(int[][] ids, int[][] mask, int[][] labels) {
        static Batch read(Path file) {
            JsonNode j = Json.read(file);
            return new Batch(ints(j.get("input_ids")), ints(j.get("attention_mask")), ints(j.get("labels")));
        }
    }

    static int[][] ints(JsonNode rows) {
        int[][] out = new int[rows.size()][];
        for (int b = 0; b < rows.size(); b++) {
            out[b] = new int[rows.get(b).size()];
            for (int i = 0; i < out[b].length; i++) {
                out[b][i] = rows.get(b).get(i).asInt();
            }
        }
        return out;
    }

    @BeforeAll
    static void load() {
        t1 = GoldenPaths.t1();
        model = Gemma2Model.load(t1.resolve("model"));
        batch = Batch.read(t1.resolve("batch.json"));
    }

    static double maxAbsDiff(float[] a, float[] b) {
        assertEquals(b.length, a.length, "length");
        double m = 0;
        for (int i = 0; i < a.length; i++) {
            m = Math.max(m, Math.abs((double) a[i] - b[i]));
        }
        return m;
    }

    @Test
    void baseForwardMatchesLogitsAndEveryHiddenState() {
        SafeTensorsFile ref = SafeTensorsFile.open(t1.resolve("base_outputs.safetensors"));
        Map<Integer, float[]> states = new HashMap<>();
        int b = batch.ids().length;
        int len = batch.ids()[0].length;
        KvCache cache = KvCache.forModel(model.config(), b, len);
        float[] hidden = model.forward(batch.ids(), batch.mask(), cache, (i, s) -> states.put(i, s.clone()));
        for (int i = 0; i <= model.config().layers(); i++) {
            TensorData want = ref.get("hidden_states." + i);
            double d = maxAbsDiff(states.get(i), want.toFloats());
            assertTrue(d <= 1e-4, "hidden_states." + i + " max |diff| " + d);
        }
        int[] rows = new int[b * len];
        for (int i = 0; i < rows.length; i++) {
            rows[i] = i;
        }
        float[] logits = model.logits(hidden, rows);
        double d = maxAbsDiff(logits, ref.get("logits").toFloats());
        assertTrue(d <= 1e-4, "logits max |diff| " + d);
    }
}
