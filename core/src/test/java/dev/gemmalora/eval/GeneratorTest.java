package dev.gemmalora.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.gemmalora.GoldenPaths;
import dev.gemmalora.lora.LoraAdapter;
import dev.gemmalora.model.GemmaModel;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Generation after a cached prefix against generation that runs the whole prompt. */
class GeneratorTest {
    @Test
    void promptAfterCachedPrefixDecodesAsTheWholePrompt() {
        GemmaModel model = GemmaModel.load(GoldenPaths.t1().resolve("model"));
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

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void promptsDecodedTogetherGetWhatEachGetsAlone(boolean withAdapter) {
        GemmaModel model = GemmaModel.load(GoldenPaths.t1().resolve("model"));
        if (withAdapter) {
            LoraAdapter.load(GoldenPaths.t1().resolve("adapter"), model).attach(model);
        }
        int vocab = model.config().vocabSize();
        Random rnd = new Random(5);
        int[] primer = rnd.ints(7, 1, vocab).toArray();
        // Tails of 1 to 9 tokens: the batch pads them, and t1's sliding window (5) then has to
        // count real tokens; rows stop after different counts and leave the batch.
        int[] tails = {3, 9, 1, 6, 4};
        int[] stopAfter = {8, 2, 12, 5, 12};
        List<int[]> prompts = new ArrayList<>();
        for (int len : tails) {
            prompts.add(IntStream.concat(IntStream.of(primer), rnd.ints(len, 1, vocab)).toArray());
        }
        for (PrefixCache prefix : new PrefixCache[] {PrefixCache.run(model, primer), null}) {
            List<List<float[]>> aloneLogits = new ArrayList<>();
            List<List<Integer>> alone = new ArrayList<>();
            Generator single = new Generator(model, prefix);
            for (int b = 0; b < prompts.size(); b++) {
                List<float[]> seen = new ArrayList<>();
                int stop = stopAfter[b];
                int[] count = {0};
                alone.add(single.generate(prompts.get(b), 10, Set.of(), recording(seen), tok -> ++count[0] < stop));
                aloneLogits.add(seen);
            }

            List<float[]> batchLogits = new ArrayList<>();
            Generator batched = new Generator(model, prefix);
            int[] counts = new int[prompts.size()];
            List<Generator.Generation> together = batched.generateAll(prompts, 10, Set.of(), Collections.nCopies(prompts.size(), recording(batchLogits)),
                    (row, tok) -> ++counts[row] < stopAfter[row]);

            assertEquals(single.positions(), batched.positions());
            int seenAt = 0;
            for (int b = 0; b < prompts.size(); b++) {
                assertEquals(alone.get(b), together.get(b).tokens(), "tokens of prompt " + b);
                assertEquals(Math.min(stopAfter[b], 10), together.get(b).tokens().size());
            }
            // The batch picks row by row, step by step: find each prompt's logits in that order.
            List<List<float[]>> byRow = new ArrayList<>();
            prompts.forEach(p -> byRow.add(new ArrayList<>()));
            for (int step = 0; seenAt < batchLogits.size(); step++) {
                for (int b = 0; b < prompts.size(); b++) {
                    if (together.get(b).tokens().size() > step) {
                        byRow.get(b).add(batchLogits.get(seenAt++));
                    }
                }
            }
            for (int b = 0; b < prompts.size(); b++) {
                for (int i = 0; i < aloneLogits.get(b).size(); i++) {
                    assertArrayEquals(aloneLogits.get(b).get(i), byRow.get(b).get(i), "logits of prompt " + b + ", step " + i);
                }
            }
        }
    }

    private static Generator.Picker recording(List<float[]> seen) {
        return logits -> {
            seen.add(logits.clone());
            return Generator.GREEDY.pick(logits);
        };
    }
}
