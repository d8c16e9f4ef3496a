package dev.gemmalora.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.gemmalora.GoldenPaths;
import dev.gemmalora.model.Gemma2Model;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** Generation after a cached prefix against generation that runs the whole prompt. */
class GeneratorTest {
    @Test
    void promptAfterCachedPrefixDecodesAsTheWholePrompt() {
        Gemma2Model model = Gemma2Model.load(GoldenPaths.t1().resolve("model"));
        int vocab = model.config().vocabSize();
        Random rnd = new Random(11);
        int[] primer = rnd.ints(9, 1, vocab).toArray();
        int[] prompt = IntStream.concat(IntStream.of(primer), rnd.ints(4, 1, vocab)).toArray();
        int steps = 6;

        List<float[]> plainLogits = new ArrayList<>();
        Generator plain = new Generator(model);
        List<Integer> want = plain.generate(prompt, steps, Set.of(), recording(plainLogits), null);

        List<float[]> cachedLogits = new ArrayList<>();
        Generator cached = new Generator(model, PrefixCache.run(model, primer));
        List<Integer> got = cached.generate(prompt, steps, Set.of(), recording(cachedLogits), null);

        assertEquals(want, got);
        for (int i = 0; i < steps; i++) {
            assertArrayEquals(plainLogits.get(i), cachedLogits.get(i), "logits of step " + i);
        }
        assertEquals(prompt.length + steps - 1, plain.positions());
        assertEquals(prompt.length - primer.length + steps - 1, cached.positions());

        // A prompt that does not start with the prefix runs whole.
        int[] other = rnd.ints(5, 1, vocab).toArray();
        assertEquals(plain.generate(other, 3, Set.of(), Generator.GREEDY, null), cached.generate(other, 3, Set.of(), Generator.GREEDY, null));
    }

    private static Generator.Picker recording(List<float[]> seen) {
        return logits -> {
            seen.add(logits.clone());
            return Generator.GREEDY.pick(logits);
        };
    }
}
