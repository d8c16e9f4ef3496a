package dev.gemmalora.bench;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gemmalora.model.GemmaConfig;
import java.util.Arrays;
import java.util.function.Consumer;

/**
 * How the bench times a figure and writes it into its JSON: the median of several runs after a
 * warm-up, the CPU steal during those runs, and the FMA loop right after. Useful FLOPs count 2 x
 * the weights applied per token (projections, plus the vocabulary where logits are computed) and
 * the attention products, doubled for a training step.
 */
final class Figures {
    /** Seconds of calls that warm up a short figure before it is timed. */
    private static final double WARMUP_SECONDS = 2;
    /** Shortest timed run of a GEMM shape, in seconds. */
    static final double MIN_TIMED_SECONDS = 0.5;

    interface Timed {
        double run();
    }

    final Benchmark.Settings settings;
    final ObjectNode out;
    final Consumer<String> log;
    final double peak;
    /** Steal and total CPU ticks over the timed runs since the last figure was written. */
    private final long[] stolen = new long[2];

    Figures(Benchmark.Settings settings, ObjectNode out, Consumer<String> log, double peak) {
        this.settings = settings;
        this.out = out;
        this.log = log;
        this.peak = peak;
    }

    /**
     * Runs once to warm up (unless turned off), then settings.runs() times; returns the median. After
     * the warm-up a full collection promotes what it allocated once (a training step's tapes and
     * gradient buffers, several GB at 26 layers), which the next young collection would otherwise
     * copy inside the first timed run, as it does only once in a real run of many steps.
     */
    double median(Timed t) {
        // Short figures need several calls before the JIT has compiled the kernels; long ones one.
        // Wall time, not what run() returns, which for a GEMM shape is seconds per call.
        long start = System.nanoTime();
        for (int i = 0; settings.warmup() && (i == 0 || System.nanoTime() - start < WARMUP_SECONDS * 1e9) && i < 50; i++) {
            t.run();
        }
        if (settings.warmup()) {
            System.gc();
        }
        double[] v = new double[Math.max(1, settings.runs())];
        long[] before = Machine.cpuStealAndTotal();
        for (int i = 0; i < v.length; i++) {
            v[i] = t.run();
        }
        long[] after = Machine.cpuStealAndTotal();
        stolen[0] += after[0] - before[0];
        stolen[1] += after[1] - before[1];
        return middle(v);
    }

    static double middle(double[] v) {
        Arrays.sort(v);
        return v[v.length / 2];
    }

    /**
     * Seconds per call of r, over as many calls as fill {@link #MIN_TIMED_SECONDS}: a projection at
     * 128 tokens takes 4-30 ms, and a single call's time swung with whatever the VM's other tenant
     * did in those milliseconds.
     */
    static double perCall(Runnable r) {
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

    static double seconds(Runnable r) {
        long t0 = System.nanoTime();
        r.run();
        return (System.nanoTime() - t0) / 1e9;
    }

    /** Forgets the steal counted so far: the machine figures' runs are not a figure's own. */
    void resetSteal() {
        Arrays.fill(stolen, 0);
    }

    /**
     * A figure's entry; with flops, also GFLOP/s, MFU and the FMA loop measured right after it,
     * because on a shared machine what a core delivers changes from one minute to the next and
     * the start-of-run reading alone does not say what this figure's minutes were like.
     */
    ObjectNode figure(String name, double value, String unit, double flops, double seconds) {
        ObjectNode f = newFigure(name);
        f.put(unit, value);
        if (flops > 0) {
            double gflops = flops / seconds / 1e9;
            f.put("gflops", gflops);
            f.put("mfu", gflops / peak);
            double[] loop = new double[3];
            for (int i = 0; i < loop.length; i++) {
                loop[i] = Machine.fmaLoopGflops(settings.threads(), 20_000_000L);
            }
            double after = middle(loop);
            f.put("fma_loop_gflops_after", after);
            // What the cores deliver, not what the nominal clock promises: MFU passes 1 where they boost.
            f.put("fma_loop_fraction", gflops / after);
        }
        return f;
    }

    /**
     * The figure's JSON entry, with the share of CPU time the hypervisor gave to other guests during
     * its timed runs: a slow figure next to a high steal is the machine's minute, not the code.
     */
    ObjectNode newFigure(String name) {
        ObjectNode f = out.putObject(name);
        if (stolen[1] > 0) {
            f.put("cpu_steal_fraction", (double) stolen[0] / stolen[1]);
        }
        resetSteal();
        return f;
    }

    /** Forward FLOPs of one token: projections, attention products at the mean causal length, logits if asked. */
    static double forwardFlops(GemmaConfig c, int seq, boolean logits) {
        double proj = (double) c.hidden() * (c.qDim() + 2.0 * c.kvDim()) + (double) c.qDim() * c.hidden() + 3.0 * c.hidden() * c.intermediate();
        double attn = 2.0 * 2.0 * c.heads() * c.headDim() * (seq + 1) / 2.0;
        return c.layers() * (2 * proj + attn) + (logits ? 2.0 * c.vocabSize() * c.hidden() : 0);
    }
}
