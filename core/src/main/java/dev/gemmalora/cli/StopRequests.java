package dev.gemmalora.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import sun.misc.Signal;
import sun.misc.SignalHandler;

/**
 * Ctrl-C (SIGINT) and SIGTERM while a long job runs: the first asks the job to stop at its next
 * safe point (training: after the optimizer step in flight, with a checkpoint); the second stops
 * the process at once, with the same exit code, losing only the work in flight.
 */
public final class StopRequests implements AutoCloseable {
    /** The shell's code for a job ended by Ctrl-C, 128 + SIGINT. */
    public static final int EXIT_CODE = 130;

    private final AtomicInteger received = new AtomicInteger();
    private final List<Signal> signals = new ArrayList<>();
    private final List<SignalHandler> previous = new ArrayList<>();
    private final Runnable onFirst;

    private StopRequests(Runnable onFirst) {
        this.onFirst = onFirst;
    }

    /** Takes over INT and TERM until closed; what says what the first one will do. */
    public static StopRequests install(String what) {
        return install(what, () -> { });
    }

    /** {@link #install(String)} that also runs onFirst (on the signal's thread) when the first signal comes. */
    public static StopRequests install(String what, Runnable onFirst) {
        StopRequests r = new StopRequests(onFirst);
        for (String name : List.of("INT", "TERM")) {
            Signal s = new Signal(name);
            try {
                r.previous.add(Signal.handle(s, sig -> r.onSignal(what)));
                r.signals.add(s);
            } catch (IllegalArgumentException e) {
                // The JVM keeps this signal (java -Xrs): its default applies.
            }
        }
        return r;
    }

    private void onSignal(String what) {
        if (received.incrementAndGet() > 1) {
            System.err.println("\nstopped at once");
            Runtime.getRuntime().halt(EXIT_CODE);
        }
        System.err.println("\nstopping: " + what + " (Ctrl-C again to stop at once)");
        onFirst.run();
    }

    public boolean requested() {
        return received.get() > 0;
    }

    @Override
    public void close() {
        for (int i = 0; i < signals.size(); i++) {
            Signal.handle(signals.get(i), previous.get(i));
        }
    }
}
