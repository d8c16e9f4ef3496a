package dev.gemmalora.api;

import dev.gemmalora.eval.Generator;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;

/**
 * One generation's state in the decoding batch: its tokens so far, and the text handed to its
 * listener, which runs behind the decoded text by what could still become a stop string or a
 * whole character.
 */
final class Sequence {
    private final int[] prompt;
    private final int adapter;
    private final int limit;
    private final Generator.Picker picker;
    private final List<String> stopStrings;
    private final Set<Integer> stopIds;
    private final Function<int[], String> decoder;
    private final GenerationListener listener;
    private final List<Integer> tokens = new ArrayList<>();
    private final CompletableFuture<Completion> done = new CompletableFuture<>();
    private String emitted = "";
    private volatile boolean cancelled;

    Sequence(int[] prompt, int adapter, int limit, Generator.Picker picker, List<String> stopStrings, Set<Integer> stopIds,
             Function<int[], String> decoder, GenerationListener listener) {
        this.prompt = prompt;
        this.adapter = adapter;
        this.limit = limit;
        this.picker = picker;
        this.stopStrings = stopStrings;
        this.stopIds = stopIds;
        this.decoder = decoder;
        this.listener = listener;
    }

    int[] prompt() {
        return prompt;
    }

    int adapter() {
        return adapter;
    }

    /** Room the cache should have at first: the prompt and some of the answer. */
    int initialCapacity() {
        return prompt.length + Math.min(limit, 128);
    }

    int lastToken() {
        return tokens.get(tokens.size() - 1);
    }

    CompletableFuture<Completion> done() {
        return done;
    }

    void started() {
        try {
            listener.onStart();
        } catch (RuntimeException e) {
            cancelled = true;
        }
    }

    void cancel() {
        cancelled = true;
    }

    boolean cancelled() {
        return cancelled;
    }

    /** Picks and takes the next token from its logits; false when the sequence has ended. */
    boolean next(float[] logits) {
        int token = picker.pick(logits);
        tokens.add(token);
        if (stopIds.contains(token)) {
            finish(decode(tokens.size() - 1), Completion.FinishReason.STOP);
            return false;
        }
        String text = decode(tokens.size());
        int cut = firstStop(text);
        if (cut >= 0) {
            finish(text.substring(0, cut), Completion.FinishReason.STOP);
            return false;
        }
        if (tokens.size() >= limit) {
            finish(text, Completion.FinishReason.LENGTH);
            return false;
        }
        int hold = stopStrings.stream().mapToInt(String::length).max().orElse(1) - 1;
        int safe = text.length() - hold;
        if (!text.endsWith("\uFFFD") && safe > emitted.length() && text.startsWith(emitted)) {
            emit(text.substring(emitted.length(), safe));
        }
        if (cancelled) {
            finishCancelled();
            return false;
        }
        return true;
    }

    private String decode(int n) {
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) {
            ids[i] = tokens.get(i);
        }
        return decoder.apply(ids);
    }

    private int firstStop(String text) {
        int first = -1;
        for (String s : stopStrings) {
            int at = text.indexOf(s);
            if (at >= 0 && (first < 0 || at < first)) {
                first = at;
            }
        }
        return first;
    }

    private void emit(String piece) {
        if (piece.isEmpty() || cancelled) {
            return;
        }
        try {
            listener.onText(piece);
            emitted += piece;
        } catch (RuntimeException e) {
            cancelled = true;
        }
    }

    private void finish(String text, Completion.FinishReason reason) {
        if (text.startsWith(emitted)) {
            emit(text.substring(emitted.length()));
        }
        complete(new Completion(text, prompt.length, tokens.size(), cancelled ? Completion.FinishReason.CANCELLED : reason));
    }

    /** Ends a sequence that leaves the batch cancelled, with what it has. */
    void finishCancelled() {
        complete(new Completion(emitted, prompt.length, tokens.size(), Completion.FinishReason.CANCELLED));
    }

    void fail(RuntimeException e) {
        try {
            listener.onError(e);
        } finally {
            done.completeExceptionally(e);
        }
    }

    private void complete(Completion c) {
        try {
            listener.onFinish(c);
        } catch (RuntimeException ignored) {
            // The listener's client went away at the very end: the completion stands.
        } finally {
            done.complete(c);
        }
    }
}
