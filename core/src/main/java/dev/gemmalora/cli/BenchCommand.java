package dev.gemmalora.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gemmalora.bench.Benchmark;
import dev.gemmalora.bench.RandomModel;
import dev.gemmalora.io.InputException;
import dev.gemmalora.io.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "bench", mixinStandardHelpOptions = true, showDefaultValues = true, sortOptions = false,
        description = {"Measure the engine's speed on a random model of a real Gemma shape (--shape; BF16, built in memory, no download).",
                "Figures: machine peak, FMA loop and bandwidth; GEMM on the model's shapes; LoRA training step with and without "
                        + "gradient checkpointing; log-likelihood scoring; KV-cache decoding; peak memory. Medians after a warm-up."})
final class BenchCommand implements Callable<Integer> {
    /** The summary table's columns, header and rows alike. */
    private static final String ROW = "%-22s %14s %12s %8s %9s %16s %7s%n";

    @Option(names = "--shape", defaultValue = "gemma-2-2b", paramLabel = "SHAPE",
            description = "The random model's shape: gemma-2-2b, gemma-3-1b, gemma-3-4b (its language model) or gemma-2b (Gemma 1).")
    String shape;

    @Option(names = "--layers", defaultValue = "0", description = "Decoder layers (0: the shape's own; the other sizes stay the shape's).")
    int layers;

    @Option(names = "--threads", defaultValue = "0", description = "Worker threads (0: one per core).")
    int threads;

    @Option(names = "--json", paramLabel = "FILE", description = "Also write the figures as JSON.")
    Path json;

    @Option(names = "--seq", defaultValue = "128", description = "Tokens per sequence for GEMM, training, scoring and the decode prompt.")
    int seq;

    @Option(names = "--train-batch", defaultValue = "4", description = "Sequences per training step.")
    int trainBatch;

    @Option(names = "--score-batch", defaultValue = "8", description = "Sequences per scoring batch.")
    int scoreBatch;

    @Option(names = "--decode-steps", defaultValue = "8", description = "Tokens decoded per timed decoding run.")
    int decodeSteps;

    @Option(names = "--runs", defaultValue = "3", description = "Timed runs per figure (the median is reported).")
    int runs;

    @Option(names = "--parts", split = ",", defaultValue = "gemm,train,train_checkpointed,score,decode", paramLabel = "PART",
            description = "Which figures to measure (peak RSS is the whole run's).")
    List<String> parts;

    @Option(names = "--truthfulqa", paramLabel = "DIR", description = "Also time TruthfulQA MC1+MC2 on this data (needs --tokenizer).")
    Path truthfulQa;

    @Option(names = "--tokenizer", paramLabel = "DIR", description = "Gemma tokenizer folder for --truthfulqa.")
    Path tokenizer;

    @Option(names = "--questions", defaultValue = "50", description = "Questions timed with --truthfulqa (the rest is extrapolated).")
    int questions;

    @Option(names = "--warmup", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "Run each figure once untimed first (--no-warmup: one timed run is enough, e.g. to read peak memory).")
    boolean warmup;

    @Option(names = "--bandwidth-mb", defaultValue = "1024", description = "Buffer read for the bandwidth figure (well above the caches).")
    int bandwidthMb;

    @Override
    public Integer call() throws IOException {
        int n = threads > 0 ? threads : Runtime.getRuntime().availableProcessors();
        RandomModel.shape(shape, layers);
        if (layers < 0 || seq < 2 || trainBatch < 1 || scoreBatch < 1 || decodeSteps < 1 || runs < 1) {
            throw new InputException("--train-batch, --score-batch, --decode-steps and --runs must be at least 1, --layers 0 or more, --seq at least 2");
        }
        for (String p : parts) {
            if (!Benchmark.Settings.PARTS.contains(p)) {
                throw new InputException("--parts: unknown part '" + p + "', expected some of " + Benchmark.Settings.PARTS);
            }
        }
        if (truthfulQa != null && tokenizer == null) {
            throw new InputException("--truthfulqa needs --tokenizer (the Gemma tokenizer folder)");
        }
        ObjectNode r = new Benchmark(new Benchmark.Settings(shape, layers, n, seq, trainBatch, scoreBatch, decodeSteps, runs, bandwidthMb,
                truthfulQa, tokenizer, questions, new java.util.LinkedHashSet<>(parts), warmup),
                System.out::println).run();
        System.out.println();
        System.out.printf(ROW, "figure", "tokens/s", "GFLOP/s", "MFU", "of loop", "machine after", "steal");
        for (String k : new String[] {"gemm", "train", "train_checkpointed", "score", "decode_b1", "decode_b8", "truthfulqa_mc"}) {
            var f = r.get(k);
            if (f == null) {
                continue;
            }
            if (f.has("error")) {
                System.out.printf("%-22s %s%n", k, f.get("error").asText());
                continue;
            }
            System.out.printf(ROW, k, f.has("tokens_per_s") ? String.format("%.2f", f.get("tokens_per_s").asDouble()) : "",
                    f.has("gflops") ? String.format("%.1f", f.get("gflops").asDouble()) : "",
                    f.has("mfu") ? String.format("%.2f", f.get("mfu").asDouble())
                            : f.has("bandwidth_fraction") ? String.format("%.2f bw", f.get("bandwidth_fraction").asDouble()) : "",
                    f.has("fma_loop_fraction") ? String.format("%.2f", f.get("fma_loop_fraction").asDouble()) : "",
                    f.has("fma_loop_gflops_after") ? String.format("%.1f GFLOP/s", f.get("fma_loop_gflops_after").asDouble())
                            : f.has("bandwidth_gbps_after") ? String.format("%.1f GB/s", f.get("bandwidth_gbps_after").asDouble()) : "",
                    f.has("cpu_steal_fraction") ? String.format("%.1f%%", 100 * f.get("cpu_steal_fraction").asDouble()) : "");
        }
        var gemm = r.get("gemm");
        if (gemm != null && gemm.has("thread_scaling")) {
            System.out.printf("%d threads over 1 (gate_proj): %.2fx; the FMA loop in the same minutes: %.2fx%n", r.get("threads").asInt(),
                    gemm.get("thread_scaling").asDouble(), gemm.get("fma_loop_thread_scaling").asDouble());
        }
        System.out.printf("peak %.1f GFLOP/s, FMA loop %.1f GFLOP/s, read bandwidth %.1f GB/s, peak RSS %.2f GB%n",
                r.get("peak_gflops").asDouble(), r.get("fma_loop_gflops").asDouble(), r.get("bandwidth_gbps").asDouble(),
                r.get("peak_rss_bytes").asLong() / 1e9);
        System.out.printf("MFU: over the peak at the %.2f GHz /proc/cpuinfo gives (above 1 where the cores boost past it);"
                + " of loop: over the FMA loop measured right after the figure; steal: CPU time the hypervisor gave other guests"
                + " during the figure's timed runs%n", r.get("clock_ghz").asDouble());
        if (json != null) {
            Files.writeString(json, Json.write(r));
            System.out.println("json: " + json);
        }
        return 0;
    }
}
