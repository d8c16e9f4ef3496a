package dev.gemmalora;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gemmalora.io.CheckpointTensors;
import dev.gemmalora.io.Json;
import dev.gemmalora.lora.LoraAdapter;
import dev.gemmalora.lora.LoraMerge;
import dev.gemmalora.model.CrossEntropy;
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

    static JsonNode results() {
        return Json.read(t1.resolve("results.json"));
    }

    static float[] forwardAll(Gemma2Model m) {
        int b = batch.ids().length;
        int len = batch.ids()[0].length;
        float[] hidden = m.forward(batch.ids(), batch.mask(), KvCache.forModel(m.config(), b, len), null);
        int[] rows = new int[b * len];
        for (int i = 0; i < rows.length; i++) {
            rows[i] = i;
        }
        return m.logits(hidden, rows);
    }

    static void assertRelative(double want, double got, double tol, String what) {
        double rel = Math.abs(got - want) / Math.max(1e-30, Math.abs(want));
        assertTrue(rel <= tol, what + ": want " + want + " got " + got + " (relative " + rel + ")");
    }

    @Test
    void baseLossMatches() {
        int b = batch.ids().length;
        float[] hidden = model.forward(batch.ids(), batch.mask(), KvCache.forModel(model.config(), b, 16), null);
        assertRelative(results().get("base_loss").asDouble(), CrossEntropy.loss(model, hidden, batch.labels()), 1e-5, "base loss");
    }

    @Test
    void loraUnmergedMatchesLogitsAndLoss() {
        LoraAdapter adapter = LoraAdapter.load(t1.resolve("adapter"), model);
        adapter.attach(model);
        try {
            float[] logits = forwardAll(model);
            float[] want = SafeTensorsFile.open(t1.resolve("lora_outputs.safetensors")).get("logits").toFloats();
            double d = maxAbsDiff(logits, want);
            assertTrue(d <= 1e-4, "lora logits max |diff| " + d);
            float[] hidden = model.forward(batch.ids(), batch.mask(), KvCache.forModel(model.config(), 3, 16), null);
            assertRelative(results().get("lora_loss").asDouble(), CrossEntropy.loss(model, hidden, batch.labels()), 1e-5, "lora loss");
        } finally {
            LoraAdapter.detach(model);
        }
    }

    @Test
    void mergedAdapterGivesTheSameLogits() {
        Path dir = t1.resolve("model");
        LoraAdapter adapter = LoraAdapter.load(t1.resolve("adapter"), model);
        Gemma2Model merged = Gemma2Model.fromTensors(model.config(),
                LoraMerge.merge(CheckpointTensors.open(dir).all(), adapter), "merged");
        adapter.attach(model);
        try {
            double d = maxAbsDiff(forwardAll(merged), forwardAll(model));
            assertTrue(d <= 1e-4, "merged vs adapter max |diff| " + d);
        } finally {
            LoraAdapter.detach(model);
        }
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
