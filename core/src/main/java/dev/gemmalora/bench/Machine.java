package dev.gemmalora.bench;

import dev.gemmalora.tensor.HugePages;
import dev.gemmalora.tensor.Parallel;
import dev.gemmalora.tensor.Simd;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/** What the machine can do: theoretical fp32 peak, a Vector API FMA loop, memory read bandwidth, RSS. */
public final class Machine {
    /** The kernels' vector, so the peak and the FMA loop count the lanes the GEMM uses. */
    private static final VectorSpecies<Float> F = Simd.F;

    private Machine() {
    }

    /** The CPU clock in GHz from /proc/cpuinfo (the highest "cpu MHz"), or 0 when unknown. */
    public static double clockGhz() {
        try {
            return Files.readAllLines(Path.of("/proc/cpuinfo")).stream().filter(l -> l.startsWith("cpu MHz"))
                    .mapToDouble(l -> Double.parseDouble(l.substring(l.indexOf(':') + 1).strip())).max().orElse(0) / 1000;
        } catch (IOException | NumberFormatException e) {
            return 0;
        }
    }

    public static String cpuName() {
        try {
            return Files.readAllLines(Path.of("/proc/cpuinfo")).stream().filter(l -> l.startsWith("model name"))
                    .map(l -> l.substring(l.indexOf(':') + 1).strip()).findFirst().orElse("unknown");
        } catch (IOException e) {
            return "unknown";
        }
    }

    /**
     * threads x clock x SIMD float lanes x 2 FMA pipes x 2 FLOP per FMA, in GFLOP/s. The clock is
     * what /proc/cpuinfo reports; a core that boosts above it lets the FMA loop pass this figure.
     */
    public static double peakGflops(int threads) {
        return threads * clockGhz() * lanes() * 2 * 2;
    }

    /** Float lanes of the vectors the kernels use. */
    public static int lanes() {
        return F.length();
    }

    /** GFLOP/s of a register-resident FMA loop on every thread (twelve independent chains each). */
    public static double fmaLoopGflops(int threads, long itersPerThread) {
        float[] sink = new float[threads];
        long t0 = System.nanoTime();
        // Short calls, so the JIT compiles fmaChains whole rather than through on-stack replacement.
        Parallel.forRange(threads, th -> {
            for (long done = 0; done < itersPerThread; done += 10_000) {
                sink[th] += fmaChains(10_000);
            }
        });
        double s = (System.nanoTime() - t0) / 1e9;
        if (Float.isNaN(sink[0])) {
            throw new IllegalStateException("unexpected NaN");
        }
        return threads * itersPerThread * 12.0 * F.length() * 2 / s / 1e9;
    }

    /**
     * Each chain adds m * a to itself, the accumulator being the addend as in the GEMM kernel. The
     * earlier form, c = c * m + a with ten chains, compiled to a register copy per FMA and chains
     * grouped one after another, and reached two thirds of what the core does (65 against 99
     * GFLOP/s on one thread, where a single dependent chain timed the clock at 3.1 GHz).
     */
    private static float fmaChains(int iters) {
        FloatVector m = FloatVector.broadcast(F, 0.999999f);
        FloatVector a = FloatVector.broadcast(F, 1e-7f);
        FloatVector c0 = FloatVector.broadcast(F, 1f), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0;
        FloatVector c6 = c0, c7 = c0, c8 = c0, c9 = c0, c10 = c0, c11 = c0;
        for (int i = 0; i < iters; i++) {
            c0 = m.fma(a, c0);
            c1 = m.fma(a, c1);
            c2 = m.fma(a, c2);
            c3 = m.fma(a, c3);
            c4 = m.fma(a, c4);
            c5 = m.fma(a, c5);
            c6 = m.fma(a, c6);
            c7 = m.fma(a, c7);
            c8 = m.fma(a, c8);
            c9 = m.fma(a, c9);
            c10 = m.fma(a, c10);
            c11 = m.fma(a, c11);
        }
        return c0.add(c1).add(c2).add(c3).add(c4).add(c5).add(c6).add(c7).add(c8).add(c9).add(c10).add(c11).lane(0);
    }

    /**
     * Read bandwidth in GB/s: every thread sums its share of a buffer much larger than the caches.
     * The buffer lies on huge pages, as the weights do ({@link HugePages}), so decoding is divided
     * by a read of the same kind of memory: on small pages it read 26.2-26.7 GB/s in a run whose
     * decoding streamed the weights at 30.5.
     */
    public static double readBandwidthGbps(int threads, long bytes, int passes) {
        MemorySegment seg = HugePages.allocate(bytes);
        long perThread = bytes / threads / 4096 * 4096;
        Parallel.forRange(threads, th -> seg.asSlice(th * perThread, perThread).fill((byte) 1));
        double best = 0;
        for (int p = 0; p < passes; p++) {
            float[] sink = new float[threads];
            long t0 = System.nanoTime();
            Parallel.forRange(threads, th -> sink[th] = sum(seg, th * perThread, perThread));
            double s = (System.nanoTime() - t0) / 1e9;
            best = Math.max(best, threads * perThread / s / 1e9);
        }
        return best;
    }

    private static float sum(MemorySegment seg, long off, long len) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        int step = F.vectorByteSize();
        for (long i = off; i < off + len; i += 4L * step) {
            a0 = a0.add(FloatVector.fromMemorySegment(F, seg, i, ByteOrder.LITTLE_ENDIAN));
            a1 = a1.add(FloatVector.fromMemorySegment(F, seg, i + step, ByteOrder.LITTLE_ENDIAN));
            a2 = a2.add(FloatVector.fromMemorySegment(F, seg, i + 2L * step, ByteOrder.LITTLE_ENDIAN));
            a3 = a3.add(FloatVector.fromMemorySegment(F, seg, i + 3L * step, ByteOrder.LITTLE_ENDIAN));
        }
        return a0.add(a1).add(a2).add(a3).lane(0);
    }

    /**
     * All CPUs' time so far from /proc/stat, in clock ticks: {steal, total}, where steal is time a
     * virtual CPU was ready but the hypervisor ran someone else. {0, 0} where the file is missing.
     */
    public static long[] cpuStealAndTotal() {
        try {
            String[] f = Files.readAllLines(Path.of("/proc/stat")).get(0).trim().split("\\s+");
            // cpu user nice system idle iowait irq softirq steal [guest guest_nice, already in user and nice]
            long total = 0;
            for (int i = 1; i <= Math.min(8, f.length - 1); i++) {
                total += Long.parseLong(f[i]);
            }
            return new long[] {f.length > 8 ? Long.parseLong(f[8]) : 0, total};
        } catch (IOException | RuntimeException e) {
            return new long[] {0, 0};
        }
    }

    /** Peak resident set size (VmHWM) in bytes, or -1 off Linux. */
    public static long peakRssBytes() {
        try {
            for (String l : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (l.startsWith("VmHWM:")) {
                    return Long.parseLong(l.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (IOException e) {
            return -1;
        }
        return -1;
    }
}
