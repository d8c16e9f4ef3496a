package dev.gemmalora.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gemmalora.GoldenPaths;
import dev.gemmalora.io.Json;
import dev.gemmalora.lora.LoraAdapter;
import dev.gemmalora.lora.LoraPair;
import dev.gemmalora.model.GemmaModel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The Java API on the real-vocabulary fixture: golden greedy chat, continuous batching across adapters, the queue. */
class LanguageModelTest {
    private static final Path FIXTURE = GoldenPaths.mc();
    private static LanguageModel model;

    @BeforeAll
    static void load(@TempDir Path dir) throws Exception {
        model = LanguageModel.load(FIXTURE.resolve("model"), GoldenPaths.tokenizer(), new LanguageModel.Options(4, 2));
        model.addAdapter("tuned", FIXTURE.resolve("adapter"));
        // A second adapter with other weights: the fixture's, B negated and doubled.
        LoraAdapter other = LoraAdapter.load(FIXTURE.resolve("adapter"), GemmaModel.load(FIXTURE.resolve("model")));
        for (LoraPair p : other.pairs().values()) {
            float[] b = p.b();
            for (int i = 0; i < b.length; i++) {
                b[i] *= -2;
            }
        }
        other.save(dir.resolve("other"));
        model.addAdapter("other", dir.resolve("other"));
    }

    @AfterAll
    static void close() {
        model.close();
    }

    /** transformers + PEFT's greedy chat tokens, through the API. */
    @Test
    void greedyChatWithTheAdapterMatchesTransformers() {
        for (JsonNode c : Json.read(FIXTURE.resolve("chat_greedy_adapter.json"))) {
            int n = c.get("new_ids").size();
            StringBuilder streamed = new StringBuilder();
            Completion got = model.chat("tuned", List.of(ChatMessage.user(c.get("question").asText())), SamplingParams.greedy(n),
                    streamed::append);
            assertEquals(c.get("new_text").asText(), got.text(), c.get("question").asText());
            assertEquals(got.text(), streamed.toString(), "the streamed pieces add up to the text");
            assertEquals(c.get("prompt_ids").size(), got.promptTokens());
            assertEquals(n, got.completionTokens());
            assertEquals(Completion.FinishReason.LENGTH, got.finishReason());
        }
    }

    /**
     * Requests decoded together, joining and leaving the batch at different steps, each with its
     * own adapter (or none) and length, get exactly the text each gets alone.
     */
    @Test
    void generationsInOneBatchGetWhatEachGetsAlone() throws Exception {
        String[] adapters = {null, "tuned", "other", "tuned", null, "other"};
        String[] prompts = {"Name a colour.", "Why is the sky blue?", "Hi", "Count to three.", "What is 2+2?", "Tell me a joke."};
        int[] lengths = {9, 14, 5, 11, 7, 12};
        List<String> alone = new ArrayList<>();
        for (int i = 0; i < prompts.length; i++) {
            alone.add(model.chat(adapters[i], List.of(ChatMessage.user(prompts[i])), SamplingParams.greedy(lengths[i]), null).text());
        }
        // The shared model, its three adapters mixed in one batch, with requests arriving while others decode.
        List<Generation> mixed = new ArrayList<>();
        CountDownLatch started = new CountDownLatch(1);
        for (int i = 0; i < prompts.length; i++) {
            int at = i;
            mixed.add(model.submit(adapters[i], model.chatPrompt(List.of(ChatMessage.user(prompts[i]))), SamplingParams.greedy(lengths[i]),
                    new GenerationListener() {
                        @Override
                        public void onText(String piece) {
                            if (at == 0) {
                                started.countDown();
                            }
                        }
                    }));
            if (i == 0) {
                assertTrue(started.await(60, TimeUnit.SECONDS));
            }
            while (model.waitingGenerations() > 0) {
                Thread.sleep(1);
            }
        }
        for (int i = 0; i < prompts.length; i++) {
            assertEquals(alone.get(i), mixed.get(i).await().text(), "request " + i + " (" + adapters[i] + ")");
        }
    }

    @Test
    void stopStringsEndTheTextBeforeThem() {
        Completion full = model.complete("tuned", "The", SamplingParams.greedy(12), null);
        String word = full.text().substring(full.text().length() / 2, full.text().length() / 2 + 3);
        StringBuilder streamed = new StringBuilder();
        Completion cut = model.complete("tuned", "The", SamplingParams.greedy(12).withStop(List.of(word)), streamed::append);
        assertEquals(full.text().substring(0, full.text().indexOf(word)), cut.text());
        assertEquals(cut.text(), streamed.toString(), "no piece of the stop string was streamed");
        assertEquals(Completion.FinishReason.STOP, cut.finishReason());
    }

    @Test
    void aCancelledGenerationLeavesTheBatchAndAFullQueueRefuses() throws Exception {
        CountDownLatch first = new CountDownLatch(1);
        int[] prompt = model.textPrompt("Once upon a time");
        Generation g = model.submit(null, prompt, SamplingParams.greedy(5000), new GenerationListener() {
            @Override
            public void onText(String piece) {
                first.countDown();
            }
        });
        assertTrue(first.await(60, TimeUnit.SECONDS));
        g.cancel();
        Completion c = g.await();
        assertEquals(Completion.FinishReason.CANCELLED, c.finishReason());
        assertTrue(c.completionTokens() < 5000, "left early: " + c.completionTokens());
        for (int i = 0; i < 5000 && model.activeGenerations() > 0; i++) {
            Thread.sleep(1);
        }
        assertEquals(0, model.activeGenerations());

        // Four slots and a queue of two: the seventh concurrent request is refused, the others all answered.
        List<Generation> held = new ArrayList<>();
        CountDownLatch decoding = new CountDownLatch(4);
        for (int i = 0; i < 4; i++) {
            held.add(model.submit(null, prompt, SamplingParams.greedy(100000), new GenerationListener() {
                boolean seen;

                @Override
                public void onText(String piece) {
                    if (!seen) {
                        seen = true;
                        decoding.countDown();
                    }
                }
            }));
            while (model.waitingGenerations() > 0) {
                Thread.sleep(1);
            }
        }
        assertTrue(decoding.await(60, TimeUnit.SECONDS));
        held.add(model.submit(null, prompt, SamplingParams.greedy(3), new GenerationListener() { }));
        held.add(model.submit(null, prompt, SamplingParams.greedy(3), new GenerationListener() { }));
        assertThrows(BusyException.class, () -> model.submit(null, prompt, SamplingParams.greedy(3), new GenerationListener() { }));
        held.subList(0, 4).forEach(Generation::cancel);
        assertEquals(3, held.get(4).await().completionTokens());
        assertEquals(3, held.get(5).await().completionTokens());
    }

    @Test
    void badRequestsNameTheirField() {
        InvalidRequestException e = assertThrows(InvalidRequestException.class, () -> new SamplingParams(10, 3.5, 1, 0, null, null));
        assertEquals("temperature", e.param());
        assertEquals("top_p", assertThrows(InvalidRequestException.class, () -> new SamplingParams(10, 1, 0, 0, null, null)).param());
        assertEquals("max_tokens", assertThrows(InvalidRequestException.class, () -> SamplingParams.greedy(0)).param());
        assertThrows(UnknownAdapterException.class, () -> model.chat("nope", List.of(ChatMessage.user("Hi")), SamplingParams.greedy(2), null));
        int[] tooLong = new int[model.contextLength()];
        java.util.Arrays.fill(tooLong, 5);
        assertEquals("messages", assertThrows(InvalidRequestException.class,
                () -> model.submit(null, tooLong, SamplingParams.greedy(2), new GenerationListener() { })).param());
        assertEquals("messages", assertThrows(InvalidRequestException.class,
                () -> model.chatPrompt(List.of(new ChatMessage("system", "Be brief."), ChatMessage.user("Hi")))).param());
    }

    @Test
    void logLikelihoodDependsOnTheAdapter() {
        LanguageModel.Score base = model.logLikelihood(null, "Q: What colour is the sky?\nA:", " Blue.");
        LanguageModel.Score tuned = model.logLikelihood("tuned", "Q: What colour is the sky?\nA:", " Blue.");
        assertTrue(base.logLikelihood() < 0 && tuned.logLikelihood() < 0);
        assertTrue(Math.abs(base.logLikelihood() - tuned.logLikelihood()) > 1e-6, base + " " + tuned);
        assertEquals(base, model.logLikelihood(null, "Q: What colour is the sky?\nA:", " Blue."));
    }
}
