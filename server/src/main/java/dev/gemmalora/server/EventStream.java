package dev.gemmalora.server;

import dev.gemmalora.api.Completion;
import dev.gemmalora.api.GenerationListener;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Hands a generation's events from the decoding thread to the request's own thread, which writes
 * them to the client: the decoder never waits on a slow or vanished client.
 */
final class EventStream implements GenerationListener {
    /** A text piece, the end, or a failure. */
    sealed interface Event permits Text, Finish, Failure {
    }

    record Text(String piece) implements Event {
    }

    record Finish(Completion completion) implements Event {
    }

    record Failure(RuntimeException error) implements Event {
    }

    private final LinkedBlockingQueue<Event> events = new LinkedBlockingQueue<>();

    @Override
    public void onText(String piece) {
        events.add(new Text(piece));
    }

    @Override
    public void onFinish(Completion completion) {
        events.add(new Finish(completion));
    }

    @Override
    public void onError(RuntimeException error) {
        events.add(new Failure(error));
    }

    /** The next event, waiting up to a second (null: none yet). */
    Event next() throws InterruptedException {
        return events.poll(1, TimeUnit.SECONDS);
    }
}
