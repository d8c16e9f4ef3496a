package dev.gemmalora.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class ParallelTest {
    private static volatile double sink;
    private final int defaultThreads = Parallel.threads();

    @AfterEach
    void restorePool() {
        Parallel.setThreads(defaultThreads);
    }

    /** Every index runs exactly once, whatever the pool size and however the range divides. */
    @Test
    void runsEveryIndexOnce() {
        for (int threads : new int[] {1, 2, 3, 5}) {
            Parallel.setThreads(threads);
            for (int n : new int[] {0, 1, 2, 3, 7, 64, 1001}) {
                AtomicIntegerArray runs = new AtomicIntegerArray(n);
                Parallel.forRange(n, i -> {
                    // Uneven work, so the workers that finish first take from the others' shares.
                    if (i % 3 == 0) {
                        sink = busy(i);
                    }
                    runs.incrementAndGet(i);
                });
                for (int i = 0; i < n; i++) {
                    assertEquals(1, runs.get(i), threads + " threads, n " + n + ", index " + i);
                }
            }
        }
    }

    /** A body may itself run a parallel range (scoring does, around each GEMM). */
    @Test
    void nestedRangesComplete() {
        Parallel.setThreads(2);
        AtomicIntegerArray runs = new AtomicIntegerArray(6 * 50);
        Parallel.forRange(6, o -> Parallel.forRange(50, i -> runs.incrementAndGet(o * 50 + i)));
        for (int i = 0; i < runs.length(); i++) {
            assertEquals(1, runs.get(i), "index " + i);
        }
    }

    @Test
    void aFailingBodyFailsTheCall() {
        Parallel.setThreads(2);
        assertThrows(IllegalStateException.class, () -> Parallel.forRange(10, i -> {
            if (i == 7) {
                throw new IllegalStateException("index 7");
            }
        }));
    }

    private static double busy(int i) {
        double s = 0;
        for (int k = 0; k < 20_000; k++) {
            s += Math.sqrt(k + i);
        }
        return s;
    }
}
