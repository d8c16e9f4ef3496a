package dev.gemmalora.lora;

import dev.gemmalora.model.GemmaModel;
import dev.gemmalora.model.Linear;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

/** A fresh adapter initialised as PEFT does: A ~ kaiming_uniform(a=sqrt(5)) = U(+-1/sqrt(in)), B = 0. */
public final class LoraInit {
    private LoraInit() {
    }

    public static LoraAdapter create(GemmaModel model, LoraConfig cfg, long seed) {
        Random rng = new Random(seed);
        Map<String, LoraPair> pairs = new LinkedHashMap<>();
        for (Linear l : model.linears()) {
            if (!cfg.targets(l.module())) {
                continue;
            }
            int r = cfg.rankFor(l.module());
            float[] a = new float[r * l.in()];
            double bound = 1.0 / Math.sqrt(l.in());
            for (int i = 0; i < a.length; i++) {
                a[i] = (float) ((rng.nextDouble() * 2 - 1) * bound);
            }
            pairs.put(l.module(), new LoraPair(l.module(), r, l.in(), l.out(), cfg.scaleFor(l.module()), a, new float[l.out() * r]));
        }
        if (pairs.isEmpty()) {
            throw new dev.gemmalora.io.InputException("--target-modules " + cfg.targetModules() + " match no module of this model");
        }
        pairs.values().forEach(p -> p.setDropout(cfg.dropout()));
        return new LoraAdapter(cfg, pairs);
    }
}
