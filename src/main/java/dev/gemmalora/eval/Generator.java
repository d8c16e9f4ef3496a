package dev.gemmalora.eval;

import dev.gemmalora.model.Gemma2Model;
import dev.gemmalora.model.KvCache;
import dev.gemmalora.tensor.Softmax;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.function.IntPredicate;

/**
 * Token-by-token decoding with a KV cache: the prompt runs once, then each new token is one
 * forward step of a single position. A prompt that starts with the generator's prefix runs only
 * the tokens after it, on a copy of the prefix's cache.
 */
public final class Generator {
    /** Chooses the next token from a row of logits (greedy, or sampling). */
    public interface Picker {
        int pick(float[] logits);
    }

    public static final Picker GREEDY = logits -> Softmax.argmax(logits, 0, logits.length);

    private final Gemma2Model model;
    private final PrefixCache prefix;
    private long positions;

    public Generator(Gemma2Model model) {
        this(model, null);
    }

    Generator(Gemma2Model model, PrefixCache prefix) {
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
        int shared = prefix == null ? 0 : prefix.sharedWith(prompt);
        int[] rest = Arrays.copyOfRange(prompt, shared, prompt.length);
        KvCache cache = shared > 0 ? prefix.fanOut(1, rest.length + maxNew) : KvCache.forModel(model.config(), 1, prompt.length + maxNew);
        float[] hidden = model.forward(new int[][] {rest}, null, cache, null);
        float[] logits = model.logits(hidden, new int[] {rest.length - 1});
        positions += rest.length;
        List<Integer> out = new ArrayList<>();
        while (out.size() < maxNew) {
            int next = picker.pick(logits);
            out.add(next);
            if (stopIds.contains(next) || (onToken != null && !onToken.test(next)) || out.size() == maxNew) {
                break;
            }
            hidden = model.forward(new int[][] {{next}}, null, cache, null);
            positions++;
            logits = model.logits(hidden, new int[] {0});
        }
        return out;
    }
}
