package dev.gemmalora.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gemmalora.io.InputException;
import dev.gemmalora.io.Json;
import org.junit.jupiter.api.Test;

class GemmaConfigTest {
    static GemmaConfig parse(String json) throws Exception {
        return GemmaConfig.parse(Json.MAPPER.readTree(json), "config.json");
    }

    @Test
    void readsLayerTypesNullSoftcapsAndRopeParameters() throws Exception {
        GemmaConfig c = parse("{\"model_type\":\"gemma2\",\"num_hidden_layers\":3,\"num_attention_heads\":2,"
                + "\"num_key_value_heads\":1,\"head_dim\":8,\"hidden_size\":12,\"attn_logit_softcapping\":null,"
                + "\"final_logit_softcapping\":null,\"rope_parameters\":{\"rope_theta\":500.0},"
                + "\"layer_types\":[\"full_attention\",\"sliding_attention\",\"full_attention\"]}");
        assertArrayEquals(new boolean[] {false, true, false}, c.slidingLayers());
        assertEquals(0, c.attnSoftcap());
        assertEquals(0, c.finalSoftcap());
        assertEquals(500.0, c.ropeTheta());
        assertEquals(16, c.qDim());
    }

    @Test
    void defaultsToEvenSlidingLayersAndHfCaps() throws Exception {
        GemmaConfig c = parse("{\"model_type\":\"gemma2\",\"num_hidden_layers\":4}");
        assertArrayEquals(new boolean[] {true, false, true, false}, c.slidingLayers());
        assertEquals(50.0, c.attnSoftcap());
        assertEquals(30.0, c.finalSoftcap());
    }

    @Test
    void rejectsOtherArchitecturesAndUnsupportedGemmas() {
        for (String type : new String[] {"llama", "qwen2", "gemma3n", "gemma4", "recurrent_gemma", "paligemma"}) {
            String m = assertThrows(InputException.class, () -> parse("{\"model_type\":\"" + type + "\"}")).getMessage();
            assertTrue(m.contains("config.json") && m.contains("'" + type + "'") && m.contains("gemma (Gemma 1), gemma2 (Gemma 2), gemma3_text"), m);
        }
        String yarn = assertThrows(InputException.class, () -> parse("{\"model_type\":\"gemma3_text\",\"rope_scaling\":"
                + "{\"rope_type\":\"yarn\",\"factor\":4}}")).getMessage();
        assertTrue(yarn.contains("RoPE scaling 'yarn' is not supported"), yarn);
    }

    /** Gemma 1: no caps, no window, 1/sqrt(head_dim), the Hub's hidden_act "gelu" run as the tanh approximation. */
    @Test
    void gemma1Defaults() throws Exception {
        GemmaConfig c = parse("{\"model_type\":\"gemma\",\"hidden_act\":\"gelu\",\"head_dim\":128,\"num_hidden_layers\":2}");
        assertEquals(GemmaConfig.Family.GEMMA, c.family());
        assertEquals(0, c.attnSoftcap());
        assertEquals(0, c.finalSoftcap());
        assertEquals(128, c.queryPreAttnScalar());
        assertFalse(c.isSliding(0) || c.isSliding(1));
        assertFalse(c.sandwichNorms() || c.qkNorm());
        assertEquals("gelu_pytorch_tanh", c.hiddenActivation());
    }

    /** Gemma 3: the pattern (every sixth layer full), two RoPE bases, linear scaling on full layers; both spellings. */
    @Test
    void gemma3LegacyAndNewRopeKeysAgree() throws Exception {
        GemmaConfig legacy = parse("{\"model_type\":\"gemma3_text\",\"num_hidden_layers\":12,\"rope_theta\":1000000.0,"
                + "\"rope_local_base_freq\":10000.0,\"rope_scaling\":{\"rope_type\":\"linear\",\"factor\":8.0},\"sliding_window_pattern\":6}");
        GemmaConfig current = parse("{\"model_type\":\"gemma3\",\"text_config\":{\"model_type\":\"gemma3_text\",\"num_hidden_layers\":12,"
                + "\"layer_types\":[\"sliding_attention\",\"sliding_attention\",\"sliding_attention\",\"sliding_attention\",\"sliding_attention\","
                + "\"full_attention\",\"sliding_attention\",\"sliding_attention\",\"sliding_attention\",\"sliding_attention\",\"sliding_attention\","
                + "\"full_attention\"],\"rope_parameters\":{\"full_attention\":{\"rope_type\":\"linear\",\"factor\":8.0,\"rope_theta\":1000000.0},"
                + "\"sliding_attention\":{\"rope_type\":\"default\",\"rope_theta\":10000.0}}}}");
        for (GemmaConfig c : new GemmaConfig[] {legacy, current}) {
            assertEquals(GemmaConfig.Family.GEMMA3, c.family());
            assertEquals(1e6, c.ropeTheta());
            assertEquals(8.0, c.ropeFactor());
            assertEquals(1e4, c.ropeLocalTheta());
            assertEquals(1.0, c.ropeLocalFactor());
            assertEquals(0, c.attnSoftcap());
            for (int i = 0; i < 12; i++) {
                assertEquals(i != 5 && i != 11, c.isSliding(i), "layer " + i);
            }
            assertTrue(c.qkNorm() && c.sandwichNorms());
        }
        assertFalse(legacy.multimodal());
        assertTrue(current.multimodal());
        assertEquals("model.language_model.", current.modulePrefix());
    }
}
