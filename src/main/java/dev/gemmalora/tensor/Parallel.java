package dev.gemmalora.tensor;

import java.util.concurrent.ForkJoinPool;
import java.util.function.IntConsumer;
import java.util.stream.IntStream;

/** The one worker pool of the engine, sized to the machine unless set by --threads. */
public final class Parallel {
    private static volatile ForkJoinPool pool = new ForkJoinPool(Runtime.getRuntime().availableProcessors());

    private Parallel() {
    }

    public static void setThreads(int threads) {
        ForkJoinPool old = pool;
        pool = new ForkJoinPool(Math.max(1, threads));
        old.shutdown();
    }

    public static int threads() {
        return pool.getParallelism();
    }

    /** Runs body(i) for i in [0, n), spread over the pool; returns when all are done. */
    public static void forRange(int n, IntConsumer body) {
        if (n == 1 || pool.getParallelism() == 1) {
            for (int i = 0; i < n; i++) {
                body.accept(i);
            }
            return;
        }
        pool.submit(() -> IntStream.range(0, n).parallel().forEach(body)).join();
    }
}
