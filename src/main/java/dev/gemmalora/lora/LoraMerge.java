package dev.gemmalora.lora;

import dev.gemmalora.io.TensorData;
import java.util.LinkedHashMap;
import java.util.Map;

/** Folds LoRA pairs into base weights: W' = W + scale * B A, cast back to W's dtype. */
public final class LoraMerge {
    private LoraMerge() {
    }

    /** All checkpoint tensors, with every adapted projection's weight replaced by its merged one. */
    public static Map<String, TensorData> merge(Map<String, TensorData> checkpoint, LoraAdapter adapter) {
        Map<String, TensorData> out = new LinkedHashMap<>(checkpoint);
        for (LoraPair p : adapter.pairs().values()) {
            String name = p.module + ".weight";
            TensorData w = checkpoint.get(name);
            float[] merged = w.toFloats();
            float s = (float) p.scale;
            for (int o = 0; o < p.out; o++) {
                for (int k = 0; k < p.in; k++) {
                    float d = 0;
                    for (int j = 0; j < p.r; j++) {
                        d += p.b[o * p.r + j] * p.a[j * p.in + k];
                    }
                    merged[o * p.in + k] += s * d;
                }
            }
            out.put(name, TensorData.ofFloats(name, w.dtype(), merged, w.shape()));
        }
        return out;
    }
}
