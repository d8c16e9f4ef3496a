package dev.gemmalora.api;

import dev.gemmalora.eval.LogLikelihood;
import dev.gemmalora.eval.Sampler;
import dev.gemmalora.eval.TruthfulQaPrompt;
import dev.gemmalora.io.InputException;
import dev.gemmalora.lora.AdapterSet;
import dev.gemmalora.lora.LoraAdapter;
import dev.gemmalora.model.GemmaModel;
import dev.gemmalora.tokenizer.ChatTemplate;
import dev.gemmalora.tokenizer.HfTokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Consumer;

/**
 * A Gemma checkpoint loaded for use from Java code: attach LoRA adapters by name, generate or chat
 * with streaming callbacks, score log-likelihoods. Generations from any number of threads share
 * one decoding batch (see {@link #submit}); each gets the tokens it would get alone.
 *
 * <pre>{@code
 * try (LanguageModel model = LanguageModel.load(Path.of("models/gemma-2-2b-it"))) {
 *     model.addAdapter("alpaca", Path.of("runs/alpaca/adapter"));
 *     Completion c = model.chat("alpaca", List.of(ChatMessage.user("Name a prime.")), SamplingParams.greedy(32), System.out::print);
 * }
 * }</pre>
 */
public final class LanguageModel implements AutoCloseable {
    /** Generations decoded together at most, and waiting at most, unless {@link Options} say otherwise. */
    public record Options(int maxBatch, int maxQueue) {
        public static final Options DEFAULT = new Options(8, 64);

        public Options {
            if (maxBatch < 1) {
                throw new InvalidRequestException("max_batch", "max batch: " + maxBatch + ", expected at least 1");
            }
            if (maxQueue < 1) {
                throw new InvalidRequestException("max_queue", "max queue: " + maxQueue + ", expected at least 1");
            }
        }
    }

    private final String name;
    private final GemmaModel model;
    private final HfTokenizer tokenizer;
    private final AdapterSet adapterSet;
    private final Map<String, Integer> adapters = new LinkedHashMap<>();
    private final Set<Integer> stopIds = new HashSet<>();
    private final Object modelLock = new Object();
    private final BatchDecoder decoder;

    private LanguageModel(String name, GemmaModel model, HfTokenizer tokenizer, Options options) {
        this.name = name;
        this.model = model;
        this.tokenizer = tokenizer;
        this.adapterSet = new AdapterSet(model);
        for (String t : List.of("<eos>", "<end_of_turn>")) {
            if (tokenizer.tokenId(t) >= 0) {
                stopIds.add(tokenizer.tokenId(t));
            }
        }
        this.decoder = new BatchDecoder(model, adapterSet, modelLock, options.maxBatch(), options.maxQueue());
        decoder.start();
    }

    /** Loads a Hugging Face Gemma checkpoint folder that holds its tokenizer too. */
    public static LanguageModel load(Path modelDir) {
        return load(modelDir, modelDir, Options.DEFAULT);
    }

    /** Loads a checkpoint with the tokenizer of tokenizerDir; the weights stay memory-mapped. */
    public static LanguageModel load(Path modelDir, Path tokenizerDir, Options options) {
        if (!Files.isDirectory(modelDir)) {
            throw new InputException(modelDir + ": model folder not found");
        }
        GemmaModel model = GemmaModel.load(modelDir);
        return new LanguageModel(modelDir.toAbsolutePath().normalize().getFileName().toString(), model, HfTokenizer.load(tokenizerDir),
                options);
    }

    /** A model built in memory (a merged or random one, say) under name, with the tokenizer of tokenizerDir. */
    public static LanguageModel of(String name, GemmaModel model, Path tokenizerDir, Options options) {
        return new LanguageModel(name, model, HfTokenizer.load(tokenizerDir), options);
    }

    /** The base model's name: its folder's name, unless given. */
    public String name() {
        return name;
    }

    /** Tokens the model can attend to: prompt and generation together. */
    public int contextLength() {
        return model.config().maxPositions();
    }

    /** Loads a PEFT LoRA adapter folder for this model under name; generations pick it by that name. */
    public void addAdapter(String name, Path dir) {
        if (name.equals(name()) || adapters.containsKey(name)) {
            throw new InvalidRequestException("adapter", "adapter name '" + name + "' is already in use");
        }
        LoraAdapter adapter = LoraAdapter.load(dir, model);
        synchronized (modelLock) {
            adapters.put(name, adapterSet.add(adapter));
        }
    }

    /** Adapter names in the order they were added. */
    public List<String> adapterNames() {
        synchronized (modelLock) {
            return List.copyOf(adapters.keySet());
        }
    }

    /** The adapter index of a name: null or the base model's name is the base model (-1). */
    private int adapterIndex(String name) {
        if (name == null || name.equals(name())) {
            return -1;
        }
        synchronized (modelLock) {
            Integer i = adapters.get(name);
            if (i == null) {
                List<String> known = new ArrayList<>(List.of(name()));
                known.addAll(adapters.keySet());
                throw new UnknownAdapterException(name, known);
            }
            return i;
        }
    }

    /** The ids of a conversation in the Gemma chat template, ending with the model's turn. */
    public int[] chatPrompt(List<ChatMessage> messages) {
        if (messages.isEmpty()) {
            throw new InvalidRequestException("messages", "messages: empty; give at least one user message");
        }
        List<ChatTemplate.Message> turns = messages.stream().map(m -> new ChatTemplate.Message(m.role(), m.content())).toList();
        try {
            synchronized (tokenizer) {
                return ChatTemplate.encode(tokenizer, turns, true);
            }
        } catch (InputException e) {
            throw new InvalidRequestException("messages", e.getMessage());
        }
    }

    /** The ids of a raw prompt, after &lt;bos&gt;. */
    public int[] textPrompt(String prompt) {
        synchronized (tokenizer) {
            return tokenizer.encode(prompt, true);
        }
    }

    /**
     * Queues a generation after prompt (ids) with adapter (null: the base model) and returns at once;
     * the listener hears its text on the decoding thread. Throws InvalidRequestException for a
     * prompt that leaves no room in the context, UnknownAdapterException, or BusyException when
     * the queue is full.
     */
    public Generation submit(String adapter, int[] prompt, SamplingParams params, GenerationListener listener) {
        int index = adapterIndex(adapter);
        if (prompt.length == 0) {
            throw new InvalidRequestException("prompt", "the prompt is empty");
        }
        if (prompt.length >= contextLength()) {
            throw new InvalidRequestException("messages", "the prompt is " + prompt.length + " tokens; the model's context is "
                    + contextLength() + ", which must also hold the reply");
        }
        int room = contextLength() - prompt.length;
        int limit = params.maxTokens() == null ? room : Math.min(params.maxTokens(), room);
        long seed = params.seed() != null ? params.seed() : ThreadLocalRandom.current().nextLong();
        Sampler picker = new Sampler(params.temperature(), params.topK(), params.topP(), seed);
        Sequence s = new Sequence(prompt, index, limit, picker, params.stop(), stopIds, this::decode, listener);
        decoder.submit(s);
        return new Generation(s);
    }

    /** Text of generated ids, special tokens left out; the tokenizer serves one thread at a time. */
    private String decode(int[] ids) {
        synchronized (tokenizer) {
            return tokenizer.decode(ids, true);
        }
    }

    /** Answers a conversation, handing each new piece of text to onText (null: none); blocks until done. */
    public Completion chat(String adapter, List<ChatMessage> messages, SamplingParams params, Consumer<String> onText) {
        return submit(adapter, chatPrompt(messages), params, streaming(onText)).await();
    }

    /** Continues a raw prompt (no chat template), handing each new piece of text to onText (null: none). */
    public Completion complete(String adapter, String prompt, SamplingParams params, Consumer<String> onText) {
        return submit(adapter, textPrompt(prompt), params, streaming(onText)).await();
    }

    private static GenerationListener streaming(Consumer<String> onText) {
        return new GenerationListener() {
            @Override
            public void onText(String piece) {
                if (onText != null) {
                    onText.accept(piece);
                }
            }
        };
    }

    /** The log-likelihood of continuation after context, and whether it is the greedy continuation. */
    public record Score(double logLikelihood, boolean greedy) {
    }

    /**
     * Scores continuation after context with adapter (null: base), encoded as lm-evaluation-harness
     * does (context with &lt;bos&gt;; the continuation is what follows it in the whole text's ids).
     */
    public Score logLikelihood(String adapter, String context, String continuation) {
        int index = adapterIndex(adapter);
        TruthfulQaPrompt.Pair pair;
        synchronized (tokenizer) {
            pair = new TruthfulQaPrompt(tokenizer, false).encodePair(context, continuation);
        }
        if (pair.continuation().length == 0) {
            throw new InvalidRequestException("continuation", "the continuation is empty after tokenization");
        }
        synchronized (modelLock) {
            adapterSet.routeAll(index);
            LogLikelihood.Result r = new LogLikelihood(model, 1).score(List.of(new LogLikelihood.Request(pair.context(),
                    pair.continuation()))).get(0);
            return new Score(r.logLik(), r.greedy());
        }
    }

    /** Generations decoding now, and waiting for a slot. */
    public int activeGenerations() {
        return decoder.active();
    }

    public int waitingGenerations() {
        return decoder.waiting();
    }

    /**
     * Takes no new generations, lets the running and waiting ones finish for up to graceMillis,
     * cancels the rest, and stops the decoding thread.
     */
    public void shutdown(long graceMillis) {
        try {
            decoder.shutdown(graceMillis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        shutdown(0);
        tokenizer.close();
    }
}
