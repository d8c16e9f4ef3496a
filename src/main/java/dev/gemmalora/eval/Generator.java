package dev.gemmalora.eval;

import dev.gemmalora.model.Gemma2Model;
import dev.gemmalora.model.KvCache;
import dev.gemmalora.tensor.Softmax;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.IntPredicate;

/**
 * Token-by-token decoding with a KV cache: the prompt runs once, then each new token is one
 * forward step of a single position.
 */
public final class Generator {
    /** Chooses the next token from a row of logits (greedy, or sampling). */
    public interface Picker {
        int pick(float[] logits);
    }

    public static final Picker GREEDY = logits -> Softmax.argmax(logits, 0, logits.length);

    private final Gemma2Model model;

    public Generator(Gemma2Model model) {
        this.model = model;
    }

    /**
     * Generates up to maxNew tokens after prompt; stops after a token in stopIds (kept in the
     * output) or when onToken returns false. Returns the new tokens only.
     */
    public List<Integer> generate(int[] prompt, int maxNew, Set<Integer> stopIds, Picker picker, IntPredicate onToken) {
        KvCache cache = KvCache.forModel(model.config(), 1, prompt.length + maxNew);
        float[] hidden = model.forward(new int[][] {prompt}, null, cache, null);
        float[] logits = model.logits(hidden, new int[] {prompt.length - 1});
        List<Integer> out = new ArrayList<>();
        while (out.size() < maxNew) {
            int next = picker.pick(logits);
            out.add(next);
            if (stopIds.contains(next) || (onToken != null && !onToken.test(next)) || out.size() == maxNew) {
                break;
            }
            hidden = model.forward(new int[][] {{next}}, null, cache, null);
            logits = model.logits(hidden, new int[] {0});
        }
        return out;
    }
}
