package dev.gemmalora.bench;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gemmalora.model.GemmaConfig;
import dev.gemmalora.model.GemmaModel;
import dev.gemmalora.model.KvCache;
import dev.gemmalora.model.Linear;
import dev.gemmalora.tensor.Softmax;

/**
 * The "decode_b1" and "decode_b8" figures: greedy decoding with a KV cache after a prompt, and
 * how fast it streams the weights against the machine's read bandwidth.
 */
final class DecodingFigure {
    private DecodingFigure() {
    }

    static void measure(Figures figures, GemmaModel model, int batch, String name) {
        Benchmark.Settings s = figures.settings;
        GemmaConfig c = model.config();
        int[][] prompt = RandomModel.randomIds(batch, s.seq(), c.vocabSize(), 11);
        double sec = figures.median(() -> {
            KvCache cache = KvCache.forModel(c, batch, s.seq() + s.decodeSteps());
            model.forward(prompt, null, cache, null);
            int[][] next = new int[batch][1];
            return Figures.seconds(() -> {
                for (int step = 0; step < s.decodeSteps(); step++) {
                    float[] hh = model.forward(next, null, cache, null);
                    int[] rows = new int[batch];
                    for (int b = 0; b < batch; b++) {
                        rows[b] = b;
                    }
                    float[] logits = model.logits(hh, rows);
                    for (int b = 0; b < batch; b++) {
                        next[b][0] = Softmax.argmax(logits, b * c.vocabSize(), c.vocabSize());
                    }
                }
            });
        });
        double tokensPerS = batch * s.decodeSteps() / sec;
        ObjectNode f = figures.newFigure(name);
        f.put("tokens_per_s", tokensPerS);
        long weightBytes = 0;
        for (Linear l : model.linears()) {
            weightBytes += l.weight().data().byteSize();
        }
        weightBytes += model.lmHead().data().byteSize();
        double gbps = weightBytes * (s.decodeSteps() / sec) / 1e9;
        f.put("weight_gbps", gbps);
        // As the FMA loop after a compute figure: this VM's memory bandwidth moves between minutes too.
        double after = Machine.readBandwidthGbps(s.threads(), (long) s.bandwidthMb() << 20, 5);
        f.put("bandwidth_gbps_after", after);
        // The fraction is of the better of the two readings: against a slow start-of-run reading
        // alone (14.4 GB/s once, 27.2 right after) decoding read as 1.72 of the bandwidth.
        double start = figures.out.get("bandwidth_gbps").asDouble();
        double bound = Math.max(start, after);
        f.put("bandwidth_bound_gbps", bound);
        f.put("bandwidth_fraction", gbps / bound);
        figures.log.accept(String.format("%s (KV cache after %d tokens): %.2f tokens/s, weights streamed at %.1f GB/s (%.2f of"
                + " bandwidth, the better of %.1f GB/s at the start and %.1f GB/s right after)", name, s.seq(), tokensPerS, gbps,
                gbps / bound, start, after));
    }
}
