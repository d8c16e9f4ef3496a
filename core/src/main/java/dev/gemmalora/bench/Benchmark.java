package dev.gemmalora.bench;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gemmalora.io.Json;
import dev.gemmalora.model.GemmaConfig;
import dev.gemmalora.model.GemmaModel;
import dev.gemmalora.tensor.Parallel;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;

/**
 * The numbers of `gemma-lora bench`: machine limits, GEMM on the model's shapes, a LoRA training
 * step with and without checkpointing, log-likelihood scoring and KV-cache decoding on a random
 * gemma-2-2b-shaped model, in that order ({@link Figures} says how each is timed and counted).
 */
public final class Benchmark {
    /** Sizes of one benchmark run. */
    public record Settings(String shape, int layers, int threads, int seq, int trainBatch, int scoreBatch, int decodeSteps, int runs,
                           int bandwidthMb, Path truthfulQa, Path tokenizer, int questions, Set<String> parts,
                           boolean warmup) {
        public static final List<String> PARTS = List.of("gemm", "train", "train_checkpointed", "score", "decode");
    }

    private final Settings s;
    private final Consumer<String> log;

    public Benchmark(Settings settings, Consumer<String> log) {
        this.s = settings;
        this.log = log;
    }

    public ObjectNode run() {
        Parallel.setThreads(s.threads());
        ObjectNode out = Json.MAPPER.createObjectNode();
        out.put("cpu", Machine.cpuName());
        out.put("threads", s.threads());
        out.put("shape", s.shape());
        out.put("layers", RandomModel.shape(s.shape(), s.layers()).layers());
        out.put("seq", s.seq());
        double peak = Machine.peakGflops(s.threads());
        out.put("clock_ghz", Machine.clockGhz());
        out.put("peak_gflops", peak);
        out.put("simd_lanes", Machine.lanes());
        log.accept(String.format("peak (threads x clock x %d lanes x 2 FMA x 2): %.1f GFLOP/s", Machine.lanes(), peak));
        Machine.fmaLoopGflops(s.threads(), 20_000_000L);
        Figures figures = new Figures(s, out, log, peak);
        out.put("fma_loop_gflops", figures.median(() -> Machine.fmaLoopGflops(s.threads(), 50_000_000L)));
        out.put("bandwidth_gbps", Machine.readBandwidthGbps(s.threads(), (long) s.bandwidthMb() << 20, 5));
        log.accept(String.format("Vector API FMA loop: %.1f GFLOP/s; memory read: %.1f GB/s",
                out.get("fma_loop_gflops").asDouble(), out.get("bandwidth_gbps").asDouble()));
        figures.resetSteal();

        GemmaConfig cfg = RandomModel.shape(s.shape(), s.layers());
        log.accept("building a random " + s.shape() + "-shaped model, " + cfg.layers() + " layers, BF16...");
        GemmaModel model = RandomModel.build(cfg, 1);
        if (s.parts().contains("gemm")) {
            GemmFigure.measure(figures, model);
        }
        if (s.parts().contains("train")) {
            try {
                TrainingFigure.measure(figures, model, false, "train");
            } catch (OutOfMemoryError e) {
                // Without checkpointing every layer's activations stay on the heap (about 3 GB at 26 layers).
                String why = "out of Java heap (" + Runtime.getRuntime().maxMemory() / (1 << 20)
                        + " MB); rerun with GEMMA_LORA_JVM_OPTS=-Xmx12g";
                out.putObject("train").put("error", why);
                log.accept("train: skipped, " + why);
            }
        }
        if (s.parts().contains("train_checkpointed")) {
            TrainingFigure.measure(figures, model, true, "train_checkpointed");
        }
        if (s.parts().contains("score")) {
            ScoringFigure.measure(figures, model);
        }
        if (s.parts().contains("decode")) {
            DecodingFigure.measure(figures, model, 1, "decode_b1");
            DecodingFigure.measure(figures, model, 8, "decode_b8");
        }
        if (s.truthfulQa() != null) {
            ScoringFigure.truthfulQa(figures, model);
        }
        out.put("peak_rss_bytes", Machine.peakRssBytes());
        return out;
    }
}
