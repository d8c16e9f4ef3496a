package dev.gemmalora.lora;

import dev.gemmalora.io.TensorData;
import dev.gemmalora.tensor.Parallel;
import java.util.LinkedHashMap;
import java.util.Map;

/** Folds LoRA pairs into base weights: W' = W + scale * B A, cast back to W's dtype. */
public final class LoraMerge {
    private LoraMerge() {
    }

    /**
     * All checkpoint tensors under their own names (a multimodal checkpoint keeps its vision tower
     * and layout), with every adapted projection's weight replaced by its merged one.
     */
    public static Map<String, TensorData> merge(Map<String, TensorData> checkpoint, LoraAdapter adapter) {
        Map<String, TensorData> out = new LinkedHashMap<>(checkpoint);
        out.replaceAll((name, w) -> mergeOne(w, adapter));
        return out;
    }

    /** The tensor itself, or its merged copy when the adapter has a pair for its module. */
    public static TensorData mergeOne(TensorData w, LoraAdapter adapter) {
        if (!w.name().endsWith(".weight")) {
            return w;
        }
        LoraPair p = adapter.pairs().get(LoraAdapter.modulePath(w.name().substring(0, w.name().length() - ".weight".length())));
        if (p == null) {
            return w;
        }
        float[] merged = w.toFloats();
        float s = (float) p.scale;
        // (B A) first, then the scale, then the add in fp32: PEFT's order of operations.
        Parallel.forRange(p.out, o -> {
            float[] bo = new float[p.r];
            System.arraycopy(p.b, o * p.r, bo, 0, p.r);
            for (int k = 0; k < p.in; k++) {
                float d = 0;
                for (int j = 0; j < p.r; j++) {
                    d += bo[j] * p.a[j * p.in + k];
                }
                merged[o * p.in + k] += d * s;
            }
        });
        return TensorData.ofFloats(w.name(), w.dtype(), merged, w.shape());
    }
}
