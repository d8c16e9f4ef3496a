package dev.gemmalora.tensor;

import java.util.concurrent.ForkJoinPool;
import java.util.function.IntConsumer;
import java.util.stream.IntStream;

/** The one worker pool of the engine, sized to the machine unless set otherwise. */
public final class Parallel {
    private static volatile ForkJoinPool pool = new ForkJoinPool(Runtime.getRuntime().availableProcessors());

    private Parallel() {
    }

    /** Replaces the pool with one of n threads (benchmarks compare thread counts). */
    public static synchronized void setThreads(int n) {
        if (n != pool.getParallelism()) {
            ForkJoinPool old = pool;
            pool = new ForkJoinPool(n);
            old.shutdown();
        }
    }

    public static int threads() {
        return pool.getParallelism();
    }

    /** Runs body(i) for i in [0, n), spread over the pool; returns when all are done. */
    public static void forRange(int n, IntConsumer body) {
        ForkJoinPool p = pool;
        if (n == 1 || p.getParallelism() == 1) {
            for (int i = 0; i < n; i++) {
                body.accept(i);
            }
            return;
        }
        p.submit(() -> IntStream.range(0, n).parallel().forEach(body)).join();
    }
}
