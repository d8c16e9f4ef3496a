package dev.gemmalora.tensor;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import java.util.function.IntConsumer;

/**
 * The one worker pool of the engine, sized to the machine unless set otherwise. The calling
 * thread is one of the workers: the pool holds the others.
 */
public final class Parallel {
    /** How long a caller that has run out of indices spins for the others before it parks. */
    private static final long SPIN_NANOS = 50_000;
    private static volatile int threads = Runtime.getRuntime().availableProcessors();
    private static volatile ForkJoinPool pool = helpers(threads);

    private Parallel() {
    }

    private static ForkJoinPool helpers(int threads) {
        return threads > 1 ? new ForkJoinPool(threads - 1) : null;
    }

    /** Replaces the pool with one of n threads, the caller included (benchmarks compare thread counts). */
    public static synchronized void setThreads(int n) {
        if (n != threads) {
            ForkJoinPool old = pool;
            pool = helpers(n);
            threads = n;
            if (old != null) {
                old.shutdown();
            }
        }
    }

    public static int threads() {
        return threads;
    }

    /**
     * Runs body(i) for i in [0, n), spread over the caller and the pool; returns when all are
     * done, rethrowing the first failure. Each worker owns a contiguous share of the indices and
     * takes them from the front; one that runs out takes single indices from the back of the
     * largest share left. On this VM a core's speed changes from minute to minute, and with a
     * parallel stream, whose last pieces are an eighth of the range, the two threads were busy
     * for 0.91-0.98 of a GEMM's wall time; with single indices at the end, 0.96-0.99 in most runs.
     * Owning contiguous shares keeps the threads on distant blocks, whose outputs share no cache
     * lines, until the shares meet.
     *
     * <p>The caller works its own share instead of handing everything to the pool and sleeping:
     * a region then costs no wake-up of its own thread, and a helper that wakes late finds its
     * share taken. Handing off cost 29 us per region after an idle gap, and decoding one token runs
     * a few hundred regions.
     */
    public static void forRange(int n, IntConsumer body) {
        ForkJoinPool p = pool;
        int workers = p == null ? 1 : Math.min(n, p.getParallelism() + 1);
        if (workers <= 1) {
            for (int i = 0; i < n; i++) {
                body.accept(i);
            }
            return;
        }
        Region region = new Region(n, workers, body, Thread.currentThread());
        for (int w = 1; w < workers; w++) {
            int own = w;
            p.execute(() -> region.work(own));
        }
        region.work(0);
        region.await();
    }

    /** One forRange call: its shares, the indices not yet done, and the first failure. */
    private static final class Region {
        private final Shares shares;
        private final IntConsumer body;
        private final Thread caller;
        private final AtomicInteger left;
        private final AtomicReference<Throwable> failure = new AtomicReference<>();

        Region(int n, int workers, IntConsumer body, Thread caller) {
            this.shares = new Shares(n, workers);
            this.body = body;
            this.caller = caller;
            this.left = new AtomicInteger(n);
        }

        /** Runs indices until none is left; after a failure the rest are only counted. */
        void work(int w) {
            for (int i = shares.next(w); i >= 0; i = shares.next(w)) {
                if (failure.get() == null) {
                    try {
                        body.accept(i);
                    } catch (Throwable t) {
                        failure.compareAndSet(null, t);
                    }
                }
                if (left.decrementAndGet() == 0 && Thread.currentThread() != caller) {
                    LockSupport.unpark(caller);
                }
            }
        }

        void await() {
            long start = System.nanoTime();
            while (left.get() > 0 && System.nanoTime() - start < SPIN_NANOS) {
                Thread.onSpinWait();
            }
            // park returns at once while the thread is interrupted, so the flag is cleared for the
            // wait and set again after it; otherwise an interrupted caller would spin here.
            boolean interrupted = false;
            while (left.get() > 0) {
                LockSupport.park(this);
                interrupted |= Thread.interrupted();
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
            Throwable t = failure.get();
            if (t instanceof RuntimeException e) {
                throw e;
            }
            if (t instanceof Error e) {
                throw e;
            }
            if (t != null) {
                throw new IllegalStateException(t);
            }
        }
    }

    /** Each worker's remaining indices [front, back), packed in one long so both ends move atomically. */
    private static final class Shares {
        private final AtomicLongArray ranges;

        Shares(int n, int workers) {
            ranges = new AtomicLongArray(workers);
            for (int w = 0; w < workers; w++) {
                ranges.set(w, pack((int) ((long) w * n / workers), (int) ((long) (w + 1) * n / workers)));
            }
        }

        /** The next index for worker w: its own front, else the back of the largest share; -1 when none is left. */
        int next(int w) {
            int i = take(w, true);
            while (i < 0) {
                int victim = -1;
                int most = 0;
                for (int v = 0; v < ranges.length(); v++) {
                    long r = ranges.get(v);
                    int left = back(r) - front(r);
                    if (left > most) {
                        most = left;
                        victim = v;
                    }
                }
                if (victim < 0) {
                    return -1;
                }
                i = take(victim, false);
            }
            return i;
        }

        private int take(int w, boolean fromFront) {
            while (true) {
                long r = ranges.get(w);
                int f = front(r);
                int b = back(r);
                if (f >= b) {
                    return -1;
                }
                if (ranges.compareAndSet(w, r, fromFront ? pack(f + 1, b) : pack(f, b - 1))) {
                    return fromFront ? f : b - 1;
                }
            }
        }

        private static long pack(int front, int back) {
            return (long) front << 32 | back & 0xffffffffL;
        }

        private static int front(long r) {
            return (int) (r >>> 32);
        }

        private static int back(long r) {
            return (int) r;
        }
    }
}
