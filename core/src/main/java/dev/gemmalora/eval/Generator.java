package dev.gemmalora.eval;

import dev.gemmalora.model.GemmaModel;
import dev.gemmalora.model.KvCache;
import dev.gemmalora.tensor.Softmax;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.function.IntPredicate;
import java.util.stream.IntStream;

/**
 * Token-by-token decoding with a KV cache: the prompt runs once, then each new token is one
 * forward step of a single position. A prompt that starts with the generator's prefix runs only
 * the tokens after it, on a copy of the prefix's cache. Several prompts can decode together
 * ({@link #generateAll}), reading the weights once per step for all of them.
 */
public final class Generator {
    /** Chooses the next token from a row of logits (greedy, or sampling). */
    public interface Picker {
        int pick(float[] logits);
    }

    /** Told each new token of batch prompt `row`; false finishes that prompt. */
    public interface TokenSink {
        boolean accept(int row, int token);
    }

    /** One prompt's new tokens, and the positions it ran through the transformer (its own, as if alone). */
    public record Generation(List<Integer> tokens, long positions) {
    }

    public static final Picker GREEDY = logits -> Softmax.argmax(logits, 0, logits.length);

    private final GemmaModel model;
    private final PrefixCache prefix;
    private long positions;

    public Generator(GemmaModel model) {
        this(model, null);
    }

    Generator(GemmaModel model, PrefixCache prefix) {
        this.model = model;
        this.prefix = prefix;
    }

    /** Token positions run through the transformer by {@link #generate} so far (not the prefix's). */
    public long positions() {
        return positions;
    }

    /**
     * Generates up to maxNew tokens after prompt; stops after a token in stopIds (kept in the
     * output) or when onToken returns false. Returns the new tokens only.
     */
    public List<Integer> generate(int[] prompt, int maxNew, Set<Integer> stopIds, Picker picker, IntPredicate onToken) {
        return generateAll(List.of(prompt), maxNew, stopIds, List.of(picker), onToken == null ? null : (row, token) -> onToken.test(token))
                .get(0).tokens();
    }

    /**
     * {@link #generate} for several prompts at once, each with its own picker, each getting the
     * tokens (and logits) it would get alone. The prompts' tails after the shared prefix run as
     * one batch padded on the right, whose positions count real tokens only; then every step
     * decodes one token for each unfinished prompt, and a finished prompt leaves the batch (its
     * cache rows are dropped).
     * Decoding reads every weight once a step: eight prompts decode about twice as many tokens a
     * second as one (the bench's decode_b8 against decode_b1).
     */
    public List<Generation> generateAll(List<int[]> prompts, int maxNew, Set<Integer> stopIds, List<? extends Picker> pickers,
                                        TokenSink onToken) {
        int n = prompts.size();
        int shared = prefix == null ? 0 : prefix.length();
        int width = 0;
        for (int[] p : prompts) {
            shared = shared == 0 ? 0 : Math.min(shared, prefix.sharedWith(p));
            width = Math.max(width, p.length);
        }
        width -= shared;
        int[][] ids = new int[n][width];
        int[][] mask = new int[n][width];
        int[] last = new int[n];
        long[] ran = new long[n];
        for (int b = 0; b < n; b++) {
            int len = prompts.get(b).length - shared;
            System.arraycopy(prompts.get(b), shared, ids[b], 0, len);
            Arrays.fill(mask[b], 0, len, 1);
            last[b] = b * width + len - 1;
            ran[b] = len;
        }
        KvCache cache = shared > 0 ? prefix.fanOut(n, width + maxNew) : KvCache.forModel(model.config(), n, width + maxNew);
        cache.numberRealTokens();
        float[] logits = model.logits(model.forward(ids, mask, cache, null), last);
        List<List<Integer>> out = new ArrayList<>();
        for (int b = 0; b < n; b++) {
            out.add(new ArrayList<>());
        }
        int vocab = model.config().vocabSize();
        int[] active = IntStream.range(0, n).toArray();
        while (active.length > 0 && maxNew > 0) {
            int[] keep = new int[active.length];
            int[][] next = new int[active.length][1];
            int kept = 0;
            for (int a = 0; a < active.length; a++) {
                int b = active[a];
                int token = pickers.get(b).pick(Arrays.copyOfRange(logits, a * vocab, (a + 1) * vocab));
                out.get(b).add(token);
                boolean more = !stopIds.contains(token) && (onToken == null || onToken.accept(b, token)) && out.get(b).size() < maxNew;
                if (more) {
                    next[kept][0] = token;
                    keep[kept++] = a;
                    ran[b]++;
                }
            }
            if (kept == 0) {
                break;
            }
            if (kept < active.length) {
                cache = cache.rows(Arrays.copyOf(keep, kept));
                next = Arrays.copyOf(next, kept);
                int[] still = new int[kept];
                for (int i = 0; i < kept; i++) {
                    still[i] = active[keep[i]];
                }
                active = still;
            }
            logits = model.logits(model.forward(next, null, cache, null), IntStream.range(0, kept).toArray());
        }
        List<Generation> result = new ArrayList<>();
        for (int b = 0; b < n; b++) {
            positions += ran[b];
            result.add(new Generation(out.get(b), ran[b]));
        }
        return result;
    }
}
