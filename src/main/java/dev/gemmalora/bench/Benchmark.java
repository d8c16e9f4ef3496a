package dev.gemmalora.bench;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gemmalora.eval.LogLikelihood;
import dev.gemmalora.eval.TruthfulQaData;
import dev.gemmalora.eval.TruthfulQaEval;
import dev.gemmalora.io.Json;
import dev.gemmalora.tokenizer.HfTokenizer;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import dev.gemmalora.lora.LoraAdapter;
import dev.gemmalora.lora.LoraConfig;
import dev.gemmalora.lora.LoraInit;
import dev.gemmalora.model.Backprop;
import dev.gemmalora.model.CrossEntropy;
import dev.gemmalora.model.Gemma2Config;
import dev.gemmalora.model.Gemma2Model;
import dev.gemmalora.model.KvCache;
import dev.gemmalora.model.Linear;
import dev.gemmalora.tensor.Gemm;
import dev.gemmalora.tensor.Parallel;
import dev.gemmalora.tensor.Softmax;
import dev.gemmalora.tensor.Weight;
import dev.gemmalora.train.AdamW;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import java.util.function.Consumer;

/**
 * The numbers of `gemma-lora bench`: machine limits, GEMM on the model's shapes, a LoRA training
 * step with and without checkpointing, log-likelihood scoring and KV-cache decoding on a random
 * gemma-2-2b-shaped model. Each figure is the median of several timed runs after a warm-up.
 * Useful FLOPs count 2 x the weights applied per token (projections, plus the vocabulary where
 * logits are computed) and the attention products, doubled for a training step.
 */
public final class Benchmark {
    /** Sizes of one benchmark run. */
    public record Settings(int layers, int threads, int seq, int trainBatch, int scoreBatch, int decodeSteps, int runs,
                           int bandwidthMb, Path truthfulQa, Path tokenizer, int questions, Set<String> parts,
                           boolean warmup) {
        public static final List<String> PARTS = List.of("gemm", "train", "train_checkpointed", "score", "decode");
    }

    private final Settings s;
    private final Consumer<String> log;
    private final ObjectNode out = Json.MAPPER.createObjectNode();
    private double peak;
    /** Steal and total CPU ticks over the timed runs since the last figure was written. */
    private final long[] stolen = new long[2];

    public Benchmark(Settings settings, Consumer<String> log) {
        this.s = settings;
        this.log = log;
    }

    public ObjectNode run() {
        Parallel.setThreads(s.threads());
        out.put("cpu", Machine.cpuName());
        out.put("threads", s.threads());
        out.put("layers", s.layers());
        out.put("seq", s.seq());
        peak = Machine.peakGflops(s.threads());
        out.put("clock_ghz", Machine.clockGhz());
        out.put("peak_gflops", peak);
        out.put("simd_lanes", Machine.lanes());
        log.accept(String.format("peak (threads x clock x %d lanes x 2 FMA x 2): %.1f GFLOP/s", Machine.lanes(), peak));
        Machine.fmaLoopGflops(s.threads(), 20_000_000L);
        out.put("fma_loop_gflops", median(() -> Machine.fmaLoopGflops(s.threads(), 50_000_000L)));
        out.put("bandwidth_gbps", Machine.readBandwidthGbps(s.threads(), (long) s.bandwidthMb() << 20, 5));
        log.accept(String.format("Vector API FMA loop: %.1f GFLOP/s; memory read: %.1f GB/s",
                out.get("fma_loop_gflops").asDouble(), out.get("bandwidth_gbps").asDouble()));
        Arrays.fill(stolen, 0); // the figures' steal counts their own timed runs only

        Gemma2Config cfg = RandomModel.config2b(s.layers());
        log.accept("building a random gemma-2-2b-shaped model, " + s.layers() + " layers, BF16...");
        Gemma2Model model = RandomModel.build(cfg, 1);
        if (s.parts().contains("gemm")) {
            gemm(model);
        }
        if (s.parts().contains("train")) {
            try {
                train(model, false, "train");
            } catch (OutOfMemoryError e) {
                // Without checkpointing every layer's activations stay on the heap (about 3 GB at 26 layers).
                String why = "out of Java heap (" + Runtime.getRuntime().maxMemory() / (1 << 20)
                        + " MB); rerun with GEMMA_LORA_JVM_OPTS=-Xmx12g";
                out.putObject("train").put("error", why);
                log.accept("train: skipped, " + why);
            }
        }
        if (s.parts().contains("train_checkpointed")) {
            train(model, true, "train_checkpointed");
        }
        if (s.parts().contains("score")) {
            score(model);
        }
        if (s.parts().contains("decode")) {
            decode(model, 1, "decode_b1");
            decode(model, 8, "decode_b8");
        }
        if (s.truthfulQa() != null) {
            truthfulQa(model);
        }
        out.put("peak_rss_bytes", Machine.peakRssBytes());
        return out;
    }

    private interface Timed {
        double run();
    }

    /** Seconds of calls that warm up a short figure before it is timed. */
    private static final double WARMUP_SECONDS = 2;
    /** Shortest timed run of a GEMM shape, in seconds. */
    private static final double MIN_TIMED_SECONDS = 0.5;
    /**
     * One-thread and all-thread gate_proj runs, alternated, for the thread scaling. Its two halves
     * measured minutes apart read 1.31x to 2.51x on this shared VM, following whichever minute each
     * half met, so each pair's halves run back to back. Each half is timed over
     * {@link #MIN_TIMED_SECONDS} of calls: single calls (35-80 ms) gave pair ratios of 1.08x to
     * 2.46x within one minute where half-second halves gave 1.61x to 2.14x.
     */
    private static final int SCALING_PAIRS = 7;

    /**
     * Runs once to warm up (unless turned off), then s.runs() times; returns the median. After the
     * warm-up a full collection promotes what it allocated once (a training step's tapes and
     * gradient buffers, several GB at 26 layers), which the next young collection would otherwise
     * copy inside the first timed run, as it does only once in a real run of many steps.
     */
    private double median(Timed t) {
        // Short figures need several calls before the JIT has compiled the kernels; long ones one.
        // Wall time, not what run() returns, which for a GEMM shape is seconds per call.
        long start = System.nanoTime();
        for (int i = 0; s.warmup() && (i == 0 || System.nanoTime() - start < WARMUP_SECONDS * 1e9) && i < 50; i++) {
            t.run();
        }
        if (s.warmup()) {
            System.gc();
        }
        double[] v = new double[Math.max(1, s.runs())];
        long[] before = Machine.cpuStealAndTotal();
        for (int i = 0; i < v.length; i++) {
            v[i] = t.run();
        }
        long[] after = Machine.cpuStealAndTotal();
        stolen[0] += after[0] - before[0];
        stolen[1] += after[1] - before[1];
        return middle(v);
    }

    private static double middle(double[] v) {
        Arrays.sort(v);
        return v[v.length / 2];
    }

    /**
     * Seconds per call of r, over as many calls as fill {@link #MIN_TIMED_SECONDS}: a projection at
     * 128 tokens takes 4-30 ms, and a single call's time swung with whatever the VM's other tenant
     * did in those milliseconds.
     */
    private static double perCall(Runnable r) {
        int calls = 0;
        long t0 = System.nanoTime();
        long elapsed;
        do {
            r.run();
            calls++;
            elapsed = System.nanoTime() - t0;
        } while (elapsed < MIN_TIMED_SECONDS * 1e9);
        return elapsed / 1e9 / calls;
    }

    private static double seconds(Runnable r) {
        long t0 = System.nanoTime();
        r.run();
        return (System.nanoTime() - t0) / 1e9;
    }

    /**
     * A figure's entry; with flops, also GFLOP/s, MFU and the FMA loop measured right after it,
     * because on a shared machine what a core delivers changes from one minute to the next and
     * the start-of-run reading alone does not say what this figure's minutes were like.
     */
    private ObjectNode figure(String name, double value, String unit, double flops, double seconds) {
        ObjectNode f = newFigure(name);
        f.put(unit, value);
        if (flops > 0) {
            double gflops = flops / seconds / 1e9;
            f.put("gflops", gflops);
            f.put("mfu", gflops / peak);
            double[] loop = new double[3];
            for (int i = 0; i < loop.length; i++) {
                loop[i] = Machine.fmaLoopGflops(s.threads(), 20_000_000L);
            }
            f.put("fma_loop_gflops_after", middle(loop));
            // What the cores deliver, not what the nominal clock promises: MFU passes 1 where they boost.
            f.put("fma_loop_fraction", gflops / middle(loop));
        }
        return f;
    }

    /**
     * The figure's JSON entry, with the share of CPU time the hypervisor gave to other guests during
     * its timed runs: a slow figure next to a high steal is the machine's minute, not the code.
     */
    private ObjectNode newFigure(String name) {
        ObjectNode f = out.putObject(name);
        if (stolen[1] > 0) {
            f.put("cpu_steal_fraction", (double) stolen[0] / stolen[1]);
        }
        Arrays.fill(stolen, 0);
        return f;
    }

    private void gemm(Gemma2Model model) {
        int t = s.seq();
        Linear[] p = model.layers()[0].projections();
        Map<String, Weight> shapes = new LinkedHashMap<>();
        for (Linear l : p) {
            shapes.put(l.module().substring(l.module().lastIndexOf('.') + 1), l.weight());
        }
        shapes.put("lm_head", model.lmHead());
        ArrayNode rows = Json.MAPPER.createArrayNode();
        double flops = 0;
        double time = 0;
        double gateGflops = 0;
        Random r = new Random(5);
        for (var e : shapes.entrySet()) {
            Weight w = e.getValue();
            float[] x = new float[t * w.cols()];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) r.nextGaussian();
            }
            float[] y = new float[t * w.rows()];
            double sec = median(() -> perCall(() -> Gemm.matmulT(x, t, w, y)));
            double f = 2.0 * t * w.rows() * w.cols();
            flops += f;
            time += sec;
            ObjectNode row = rows.addObject();
            row.put("name", e.getKey());
            row.put("rows", w.rows());
            row.put("cols", w.cols());
            row.put("tokens", t);
            row.put("gflops", f / sec / 1e9);
            row.put("mfu", f / sec / 1e9 / peak);
            if (e.getKey().equals("gate_proj")) {
                gateGflops = f / sec / 1e9;
            }
            log.accept(String.format("  gemm %-9s %6d x %4d x %3d tokens: %6.1f GFLOP/s (%.2f MFU)", e.getKey(), w.rows(), w.cols(), t,
                    f / sec / 1e9, f / sec / 1e9 / peak));
        }
        ObjectNode g = figure("gemm", time, "seconds", flops, time);
        g.set("shapes", rows);
        Weight gate = shapes.get("gate_proj");
        double gateFlops = 2.0 * t * gate.rows() * gate.cols();
        float[] gx = new float[t * gate.cols()];
        float[] gy = new float[t * gate.rows()];
        double[] one = new double[SCALING_PAIRS];
        double[] ratio = new double[SCALING_PAIRS];
        for (int i = 0; i < SCALING_PAIRS; i++) {
            double single = gateSeconds(gate, gx, t, gy, 1);
            ratio[i] = single / gateSeconds(gate, gx, t, gy, s.threads());
            one[i] = gateFlops / single / 1e9;
        }
        g.put("gate_proj_gflops", gateGflops);
        g.put("gate_proj_1_thread_gflops", middle(one));
        g.put("thread_scaling", middle(ratio));
        g.put("thread_scaling_pairs", SCALING_PAIRS);
        log.accept(String.format("gemm: %.1f GFLOP/s (%.2f MFU); gate_proj on 1 thread %.1f GFLOP/s, %d threads %.2fx"
                        + " (median of %d back-to-back pairs)", g.get("gflops").asDouble(), g.get("mfu").asDouble(),
                g.get("gate_proj_1_thread_gflops").asDouble(), s.threads(), g.get("thread_scaling").asDouble(), SCALING_PAIRS));
    }

    /**
     * Seconds per gate_proj GEMM on a pool of the given size, after an untimed call that gives the
     * new pool's threads their scratch buffers.
     */
    private double gateSeconds(Weight gate, float[] x, int tokens, float[] y, int threads) {
        Parallel.setThreads(threads);
        Gemm.matmulT(x, tokens, gate, y);
        double sec = perCall(() -> Gemm.matmulT(x, tokens, gate, y));
        Parallel.setThreads(s.threads());
        return sec;
    }

    /** Forward FLOPs of one token: projections, attention products at the mean causal length, logits if asked. */
    private static double forwardFlops(Gemma2Config c, int seq, boolean logits) {
        double proj = (double) c.hidden() * (c.qDim() + 2.0 * c.kvDim()) + (double) c.qDim() * c.hidden() + 3.0 * c.hidden() * c.intermediate();
        double attn = 2.0 * 2.0 * c.heads() * c.headDim() * (seq + 1) / 2.0;
        return c.layers() * (2 * proj + attn) + (logits ? 2.0 * c.vocabSize() * c.hidden() : 0);
    }

    private static int[][] randomIds(int batch, int seq, int vocab, long seed) {
        Random r = new Random(seed);
        int[][] ids = new int[batch][seq];
        for (int[] row : ids) {
            for (int i = 0; i < seq; i++) {
                row[i] = 3 + r.nextInt(vocab - 3);
            }
        }
        return ids;
    }

    private void train(Gemma2Model model, boolean checkpoint, String name) {
        Gemma2Config c = model.config();
        LoraAdapter adapter = LoraInit.create(model, LoraConfig.of(8, 32, 0.1, false, LoraConfig.ALL_PROJECTIONS), 42);
        adapter.attach(model);
        AdamW opt = new AdamW(adapter.parameters(), 0.9, 0.999, 1e-8, 0.0);
        int[][] ids = randomIds(s.trainBatch(), s.seq(), c.vocabSize(), 7);
        int[][] mask = new int[ids.length][s.seq()];
        for (int[] m : mask) {
            Arrays.fill(m, 1);
        }
        int targets = CrossEntropy.targets(ids)[0].length;
        long[] step = {0};
        Backprop backprop = new Backprop(model);
        double sec;
        try {
            sec = median(() -> seconds(() -> {
                adapter.zeroGrad();
                backprop.lossAndGrad(ids, mask, ids, 1.0 / targets, checkpoint, step[0]++);
                opt.update(adapter.gradients(), 1e-4);
            }));
        } finally {
            LoraAdapter.detach(model);
        }
        int tokens = s.trainBatch() * s.seq();
        double flops = 2 * (tokens * forwardFlops(c, s.seq(), false) + targets * 2.0 * c.vocabSize() * c.hidden());
        ObjectNode f = figure(name, tokens / sec, "tokens_per_s", flops, sec);
        f.put("batch", s.trainBatch());
        f.put("seq", s.seq());
        f.put("step_seconds", sec);
        out.put(name + "_peak_rss_bytes", Machine.peakRssBytes());
        log.accept(String.format("%s (LoRA r 8, 7 projections, %d x %d): %.2f tokens/s, %.1f GFLOP/s (%.2f MFU), step %.1f s",
                name, s.trainBatch(), s.seq(), tokens / sec, f.get("gflops").asDouble(), f.get("mfu").asDouble(), sec));
    }

    private void score(Gemma2Model model) {
        Gemma2Config c = model.config();
        int[][] ids = randomIds(s.scoreBatch(), s.seq(), c.vocabSize(), 9);
        int vocab = c.vocabSize();
        int n = s.scoreBatch() * s.seq();
        double sec = median(() -> seconds(() -> {
            float[] hidden = model.forward(ids, null, KvCache.forModel(c, ids.length, s.seq()), null);
            float[] chunk = null;
            for (int r0 = 0; r0 < n; r0 += LogLikelihood.LOGIT_ROWS_PER_CHUNK) {
                int[] rows = new int[Math.min(LogLikelihood.LOGIT_ROWS_PER_CHUNK, n - r0)];
                for (int i = 0; i < rows.length; i++) {
                    rows[i] = r0 + i;
                }
                float[] logits = model.logits(hidden, rows, chunk);
                chunk = logits;
                Parallel.forRange(rows.length, i -> Softmax.logSumExp(logits, i * vocab, vocab));
            }
        }));
        double flops = n * forwardFlops(c, s.seq(), true);
        ObjectNode f = figure("score", n / sec, "tokens_per_s", flops, sec);
        f.put("batch", s.scoreBatch());
        f.put("seq", s.seq());
        log.accept(String.format("score (%d x %d, log-probs at every position): %.2f tokens/s, %.1f GFLOP/s (%.2f MFU)",
                s.scoreBatch(), s.seq(), n / sec, f.get("gflops").asDouble(), f.get("mfu").asDouble()));
    }

    /** MC1+MC2 on the first questions of TruthfulQA, extrapolated to the whole file. */
    private void truthfulQa(Gemma2Model model) {
        TruthfulQaData.Dataset ds = TruthfulQaData.load(s.truthfulQa());
        List<TruthfulQaData.Question> qs = ds.questions().subList(0, Math.min(s.questions(), ds.questions().size()));
        try (HfTokenizer tok = HfTokenizer.load(s.tokenizer())) {
            long t0 = System.nanoTime();
            TruthfulQaEval eval = new TruthfulQaEval(model, tok, Set.of("mc1", "mc2"), false, TruthfulQaEval.DEFAULT_BATCH);
            double primerSeconds = (System.nanoTime() - t0) / 1e9;
            long primer = eval.positions();
            long t1 = System.nanoTime();
            long[] lmEval = {0};
            eval.evaluateAll(qs, row -> lmEval[0] += row.get("lm_eval_positions").asLong());
            double sec = (System.nanoTime() - t1) / 1e9;
            long positions = eval.positions() - primer;
            ObjectNode f = out.putObject("truthfulqa_mc");
            f.put("questions", qs.size());
            f.put("seconds", sec + primerSeconds);
            f.put("positions", positions + primer);
            f.put("lm_eval_positions", lmEval[0]);
            f.put("tokens_per_s", positions / sec);
            double scale = ds.questions().size() / (double) qs.size();
            f.put("extrapolated_questions", ds.questions().size());
            f.put("extrapolated_seconds", primerSeconds + sec * scale);
            f.put("extrapolated_positions", primer + positions * scale);
            f.put("extrapolated_lm_eval_positions", lmEval[0] * scale);
            log.accept(String.format("truthfulqa mc1+mc2, %d questions: %.0f s, %d positions (lm-eval: %d), %.1f tokens/s; all %d: about %.0f min",
                    qs.size(), sec + primerSeconds, positions + primer, lmEval[0], positions / sec, ds.questions().size(),
                    (primerSeconds + sec * scale) / 60));
        }
    }

    private void decode(Gemma2Model model, int batch, String name) {
        Gemma2Config c = model.config();
        int[][] prompt = randomIds(batch, s.seq(), c.vocabSize(), 11);
        double sec = median(() -> {
            KvCache cache = KvCache.forModel(c, batch, s.seq() + s.decodeSteps());
            model.forward(prompt, null, cache, null);
            int[][] next = new int[batch][1];
            return seconds(() -> {
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
        ObjectNode f = newFigure(name);
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
        double start = out.get("bandwidth_gbps").asDouble();
        double bound = Math.max(start, after);
        f.put("bandwidth_bound_gbps", bound);
        f.put("bandwidth_fraction", gbps / bound);
        log.accept(String.format("%s (KV cache after %d tokens): %.2f tokens/s, weights streamed at %.1f GB/s (%.2f of bandwidth,"
                + " the better of %.1f GB/s at the start and %.1f GB/s right after)", name, s.seq(), tokensPerS, gbps, gbps / bound,
                start, after));
    }
}
