package dev.gemmalora.api;

import dev.gemmalora.lora.AdapterSet;
import dev.gemmalora.model.GemmaModel;
import dev.gemmalora.model.KvCache;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;

/**
 * Continuous batching on one thread: a generation waits in a bounded queue, its prompt runs as soon
 * as the batch has room (between two decoding steps), and it then decodes one token a step with
 * every other active generation, whatever adapter each uses, until it ends and leaves. Each step
 * reads the base weights once for the whole batch; each row keeps its own KV cache rows and
 * positions, so it gets the tokens it would get alone.
 */
final class BatchDecoder implements Runnable {
    private final GemmaModel model;
    private final AdapterSet adapters;
    private final Object modelLock;
    private final int maxBatch;
    private final ArrayBlockingQueue<Sequence> queue;
    private final List<Sequence> active = new ArrayList<>();
    private final Thread thread;
    private KvCache cache;
    private volatile boolean accepting = true;

    BatchDecoder(GemmaModel model, AdapterSet adapters, Object modelLock, int maxBatch, int maxQueue) {
        this.model = model;
        this.adapters = adapters;
        this.modelLock = modelLock;
        this.maxBatch = maxBatch;
        this.queue = new ArrayBlockingQueue<>(maxQueue);
        this.thread = Thread.ofPlatform().name("gemma-lora-decoder").daemon().unstarted(this);
    }

    void start() {
        thread.start();
    }

    /** Queues a generation; BusyException when the queue is full or the decoder is stopping. */
    void submit(Sequence s) {
        if (!accepting) {
            throw new BusyException("the model is shutting down");
        }
        if (!queue.offer(s)) {
            throw new BusyException("all " + maxBatch + " decoding slots are busy and " + queue.size()
                    + " requests are waiting; try again shortly");
        }
    }

    int active() {
        return active.size();
    }

    int waiting() {
        return queue.size();
    }

    /**
     * Stops taking generations and waits up to graceMillis for the running and queued ones to end,
     * then cancels what is left and waits for the thread.
     */
    void shutdown(long graceMillis) throws InterruptedException {
        accepting = false;
        thread.join(Math.max(1, graceMillis));
        if (thread.isAlive()) {
            queue.forEach(Sequence::cancel);
            synchronized (active) {
                active.forEach(Sequence::cancel);
            }
            thread.join();
        }
    }

    @Override
    public void run() {
        try {
            while (accepting || !queue.isEmpty() || !active.isEmpty()) {
                admit();
                if (active.isEmpty()) {
                    Sequence s = queue.poll(50, TimeUnit.MILLISECONDS);
                    if (s != null) {
                        start(s);
                    }
                } else {
                    step();
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Runs the prompts of waiting generations while the batch has room. */
    private void admit() {
        while (active.size() < maxBatch) {
            Sequence s = queue.poll();
            if (s == null) {
                return;
            }
            start(s);
        }
    }

    /** Runs a prompt alone and, unless its first token ends it, adds it to the batch. */
    private void start(Sequence s) {
        if (s.cancelled()) {
            s.finishCancelled();
            return;
        }
        try {
            s.started();
            int[] prompt = s.prompt();
            KvCache own = KvCache.forModel(model.config(), 1, s.initialCapacity());
            float[] logits;
            synchronized (modelLock) {
                adapters.route(new int[] {s.adapter()}, prompt.length);
                logits = model.logits(model.forward(new int[][] {prompt}, null, own, null), new int[] {prompt.length - 1});
            }
            if (s.next(logits)) {
                cache = cache == null ? own : KvCache.join(cache, own);
                synchronized (active) {
                    active.add(s);
                }
            }
        } catch (RuntimeException | OutOfMemoryError e) {
            s.fail(e instanceof RuntimeException r ? r : new IllegalStateException("out of memory: " + e.getMessage(), e));
        }
    }

    /** One token for every active generation; the ended and cancelled ones leave the batch. */
    private void step() {
        int n = active.size();
        int[][] ids = new int[n][1];
        int[] rowAdapter = new int[n];
        for (int b = 0; b < n; b++) {
            ids[b][0] = active.get(b).lastToken();
            rowAdapter[b] = active.get(b).adapter();
        }
        float[] logits;
        try {
            synchronized (modelLock) {
                adapters.route(rowAdapter, 1);
                logits = model.logits(model.forward(ids, null, cache, null), IntStream.range(0, n).toArray());
            }
        } catch (RuntimeException | OutOfMemoryError e) {
            RuntimeException r = e instanceof RuntimeException x ? x : new IllegalStateException("out of memory: " + e.getMessage(), e);
            synchronized (active) {
                active.forEach(s -> s.fail(r));
                active.clear();
            }
            cache = null;
            return;
        }
        int vocab = model.config().vocabSize();
        int[] keep = new int[n];
        int kept = 0;
        for (int b = 0; b < n; b++) {
            Sequence s = active.get(b);
            if (s.cancelled()) {
                s.finishCancelled();
            } else if (s.next(Arrays.copyOfRange(logits, b * vocab, (b + 1) * vocab))) {
                keep[kept++] = b;
            }
        }
        if (kept < n) {
            synchronized (active) {
                List<Sequence> still = new ArrayList<>();
                for (int i = 0; i < kept; i++) {
                    still.add(active.get(keep[i]));
                }
                active.clear();
                active.addAll(still);
            }
            cache = kept == 0 ? null : cache.rows(Arrays.copyOf(keep, kept));
        }
    }
}
