package dev.gemmalora.bench;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gemmalora.io.Json;
import dev.gemmalora.model.GemmaModel;
import dev.gemmalora.model.Linear;
import dev.gemmalora.tensor.Gemm;
import dev.gemmalora.tensor.Parallel;
import dev.gemmalora.tensor.Weight;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import java.util.function.DoubleSupplier;

/** The "gemm" figure: each of a layer's projections and the vocabulary projection, and the thread scaling. */
final class GemmFigure {
    /**
     * One-thread and all-thread gate_proj runs, alternated, for the thread scaling. Its two halves
     * measured minutes apart read 1.31x to 2.51x on this shared VM, following whichever minute each
     * half met, so each pair's halves run back to back. Each half is timed over
     * {@link Figures#MIN_TIMED_SECONDS} of calls: single calls (35-80 ms) gave pair ratios of 1.08x
     * to 2.46x within one minute where half-second halves gave 1.61x to 2.14x.
     */
    private static final int SCALING_PAIRS = 7;
    /**
     * FMA-loop iterations per thread beside each pair, about 0.4 s at a quiet core's 100 GFLOP/s.
     * The register-only loop has no memory traffic and no shared work, yet alternated one-thread and
     * two-thread runs of it read 1.56x to 1.97x within one quiet minute (one thread steady at 101-102
     * GFLOP/s): the second core of this VM is at times slower than the first. The loop's own
     * scaling in the same pairs says how much of the GEMM's scaling the machine allowed.
     */
    private static final long LOOP_ITERS = 200_000_000L;

    private GemmFigure() {
    }

    static void measure(Figures figures, GemmaModel model) {
        int t = figures.settings.seq();
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
            double sec = figures.median(() -> Figures.perCall(() -> Gemm.matmulT(x, t, w, y)));
            double f = 2.0 * t * w.rows() * w.cols();
            flops += f;
            time += sec;
            ObjectNode row = rows.addObject();
            row.put("name", e.getKey());
            row.put("rows", w.rows());
            row.put("cols", w.cols());
            row.put("tokens", t);
            row.put("gflops", f / sec / 1e9);
            row.put("mfu", f / sec / 1e9 / figures.peak);
            if (e.getKey().equals("gate_proj")) {
                gateGflops = f / sec / 1e9;
            }
            figures.log.accept(String.format("  gemm %-9s %6d x %4d x %3d tokens: %6.1f GFLOP/s (%.2f MFU)", e.getKey(), w.rows(),
                    w.cols(), t, f / sec / 1e9, f / sec / 1e9 / figures.peak));
        }
        ObjectNode g = figures.figure("gemm", time, "seconds", flops, time);
        g.set("shapes", rows);
        Weight gate = shapes.get("gate_proj");
        double gateFlops = 2.0 * t * gate.rows() * gate.cols();
        float[] gx = new float[t * gate.cols()];
        float[] gy = new float[t * gate.rows()];
        int threads = figures.settings.threads();
        double[] one = new double[SCALING_PAIRS];
        double[] ratio = new double[SCALING_PAIRS];
        double[] loopRatio = new double[SCALING_PAIRS];
        Runnable call = () -> Gemm.matmulT(gx, t, gate, gy);
        for (int i = 0; i < SCALING_PAIRS; i++) {
            double single = onPool(1, threads, () -> gateSeconds(call));
            ratio[i] = single / onPool(threads, threads, () -> gateSeconds(call));
            one[i] = gateFlops / single / 1e9;
            loopRatio[i] = onPool(threads, threads, () -> Machine.fmaLoopGflops(threads, LOOP_ITERS))
                    / onPool(1, threads, () -> Machine.fmaLoopGflops(1, LOOP_ITERS));
        }
        g.put("gate_proj_gflops", gateGflops);
        g.put("gate_proj_1_thread_gflops", Figures.middle(one));
        g.put("thread_scaling", Figures.middle(ratio));
        g.put("thread_scaling_pairs", SCALING_PAIRS);
        g.put("fma_loop_thread_scaling", Figures.middle(loopRatio));
        figures.log.accept(String.format("gemm: %.1f GFLOP/s (%.2f MFU); gate_proj on 1 thread %.1f GFLOP/s, %d threads %.2fx"
                        + " (median of %d back-to-back pairs; the FMA loop beside them %.2fx)", g.get("gflops").asDouble(),
                g.get("mfu").asDouble(), g.get("gate_proj_1_thread_gflops").asDouble(), threads, g.get("thread_scaling").asDouble(),
                SCALING_PAIRS, g.get("fma_loop_thread_scaling").asDouble()));
    }

    /** f on a pool of `threads` threads; the pool is set back to `restore` threads after. */
    private static double onPool(int threads, int restore, DoubleSupplier f) {
        Parallel.setThreads(threads);
        try {
            return f.getAsDouble();
        } finally {
            Parallel.setThreads(restore);
        }
    }

    /** Seconds per gate_proj GEMM, after an untimed call that gives a new pool's threads their scratch buffers. */
    private static double gateSeconds(Runnable call) {
        call.run();
        return Figures.perCall(call);
    }
}
