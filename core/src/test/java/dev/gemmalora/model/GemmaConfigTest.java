package dev.gemmalora.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
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
    void rejectsOtherModelTypes() {
        String m = assertThrows(InputException.class, () -> parse("{\"model_type\":\"llama\"}")).getMessage();
        assertTrue(m.contains("config.json") && m.contains("model_type") && m.contains("gemma2"), m);
    }
}
