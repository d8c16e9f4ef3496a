package dev.gemmalora.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.core.http.StreamResponse;
import com.openai.errors.BadRequestException;
import com.openai.errors.NotFoundException;
import com.openai.errors.RateLimitException;
import com.openai.errors.UnauthorizedException;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import com.openai.models.completions.Completion;
import com.openai.models.completions.CompletionCreateParams;
import com.openai.models.models.Model;
import dev.gemmalora.api.LanguageModel;
import dev.gemmalora.api.SamplingParams;
import dev.gemmalora.io.Json;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The server against OpenAI's own Java client (and plain HTTP for what a client library will not
 * send), on the real-vocabulary fixture with its PEFT adapter: transformers' greedy tokens come back
 * whole and streamed; requests decoded together get what each gets alone; errors are OpenAI error
 * objects with the right status.
 */
class OpenAiServerTest {
    static final Path SHARED = Path.of(System.getProperty("shared.dir", "../../shared"));
    static final Path FIXTURE = Path.of(System.getProperty("golden.mc.dir", SHARED.resolve("golden/t3").toString()));
    static final Path TOKENIZER = Path.of(System.getProperty("golden.tokenizer", SHARED.resolve("tokenizers/gemma").toString()));
    private static final String KEY = "test-key";
    private static LanguageModel model;
    private static OpenAiServer server;
    private static String base;
    private static OpenAIClient client;

    @BeforeAll
    static void start() {
        model = LanguageModel.load(FIXTURE.resolve("model"), TOKENIZER, new LanguageModel.Options(4, 16));
        model.addAdapter("tuned", FIXTURE.resolve("adapter"));
        server = new OpenAiServer(model, KEY);
        base = "http://127.0.0.1:" + server.start("127.0.0.1", 0);
        client = OpenAIOkHttpClient.builder().baseUrl(base + "/v1").apiKey(KEY).maxRetries(0).timeout(Duration.ofMinutes(2)).build();
    }

    @AfterAll
    static void stop() {
        client.close();
        server.close();
        model.close();
    }

    private static ChatCompletionCreateParams greedyChat(String modelName, String question, int tokens) {
        return ChatCompletionCreateParams.builder().model(modelName).addUserMessage(question).maxCompletionTokens(tokens)
                .temperature(0.0).build();
    }

    @Test
    void chatCompletionsGiveTransformersGreedyTokensWholeAndStreamed() {
        for (JsonNode c : Json.read(FIXTURE.resolve("chat_greedy_adapter.json"))) {
            int n = c.get("new_ids").size();
            ChatCompletionCreateParams params = greedyChat("tuned", c.get("question").asText(), n);
            ChatCompletion whole = client.chat().completions().create(params);
            assertEquals(c.get("new_text").asText(), whole.choices().get(0).message().content().orElseThrow());
            assertEquals(ChatCompletion.Choice.FinishReason.LENGTH, whole.choices().get(0).finishReason());
            assertEquals(c.get("prompt_ids").size(), whole.usage().orElseThrow().promptTokens());
            assertEquals(n, whole.usage().orElseThrow().completionTokens());
            assertEquals("tuned", whole.model());

            StringBuilder text = new StringBuilder();
            List<ChatCompletionChunk> chunks = new ArrayList<>();
            try (StreamResponse<ChatCompletionChunk> s = client.chat().completions().createStreaming(params.toBuilder()
                    .streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build()).build())) {
                s.stream().forEach(chunk -> {
                    chunks.add(chunk);
                    chunk.choices().forEach(ch -> ch.delta().content().ifPresent(text::append));
                });
            }
            assertEquals(c.get("new_text").asText(), text.toString());
            assertTrue(chunks.size() > 3, "streamed in pieces: " + chunks.size());
            ChatCompletionChunk last = chunks.get(chunks.size() - 1);
            assertTrue(last.choices().isEmpty());
            assertEquals(n, last.usage().orElseThrow().completionTokens());
            assertEquals(ChatCompletionChunk.Choice.FinishReason.LENGTH,
                    chunks.get(chunks.size() - 2).choices().get(0).finishReason().orElseThrow());
        }
    }

    @Test
    void textCompletionsMatchTheJavaApiWholeAndStreamed() {
        CompletionCreateParams params = CompletionCreateParams.builder().model(model.name()).prompt("The capital of France")
                .maxTokens(8).temperature(0.0).build();
        String expected = model.complete(null, "The capital of France", SamplingParams.greedy(8), null).text();
        Completion whole = client.completions().create(params);
        assertEquals(expected, whole.choices().get(0).text());
        assertEquals(8, whole.usage().orElseThrow().completionTokens());
        try (StreamResponse<Completion> s = client.completions().createStreaming(params)) {
            assertEquals(expected, s.stream().map(c -> c.choices().isEmpty() ? "" : c.choices().get(0).text()).collect(Collectors.joining()));
        }
    }

    @Test
    void modelsListsTheBaseAndEveryAdapter() {
        List<String> ids = client.models().list().data().stream().map(Model::id).toList();
        assertEquals(List.of(model.name(), "tuned"), ids);
    }

    /** Six clients at once over three models (base, adapter, adapter with a stop string) get what each gets alone. */
    @Test
    void concurrentRequestsOnMixedModelsGetWhatEachGetsAlone() throws Exception {
        String[] models = {"tuned", model.name(), "tuned", model.name(), "tuned", model.name()};
        String[] questions = {"Hi", "Name a colour.", "Why is the sky blue?", "Count to three.", "What is 2+2?", "Tell me a joke."};
        int[] lengths = {12, 5, 9, 14, 7, 10};
        List<String> alone = new ArrayList<>();
        for (int i = 0; i < models.length; i++) {
            alone.add(client.chat().completions().create(greedyChat(models[i], questions[i], lengths[i])).choices().get(0).message()
                    .content().orElseThrow());
        }
        ExecutorService pool = Executors.newFixedThreadPool(models.length);
        try {
            List<Future<String>> together = new ArrayList<>();
            for (int i = 0; i < models.length; i++) {
                int at = i;
                together.add(pool.submit(() -> {
                    StringBuilder sb = new StringBuilder();
                    try (StreamResponse<ChatCompletionChunk> s = client.chat().completions()
                            .createStreaming(greedyChat(models[at], questions[at], lengths[at]))) {
                        s.stream().forEach(c -> c.choices().forEach(ch -> ch.delta().content().ifPresent(sb::append)));
                    }
                    return sb.toString();
                }));
            }
            for (int i = 0; i < models.length; i++) {
                assertEquals(alone.get(i), together.get(i).get(), "request " + i + " on " + models[i]);
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void errorsAreOpenAiErrorObjects() throws Exception {
        NotFoundException missing = assertThrows(NotFoundException.class, () -> client.chat().completions().create(greedyChat("nope", "Hi", 2)));
        assertTrue(missing.getMessage().contains("model 'nope' is not served here"), missing.getMessage());
        OpenAIClient wrongKey = OpenAIOkHttpClient.builder().baseUrl(base + "/v1").apiKey("wrong").maxRetries(0).build();
        try {
            assertThrows(UnauthorizedException.class, () -> wrongKey.models().list());
        } finally {
            wrongKey.close();
        }
        BadRequestException hot = assertThrows(BadRequestException.class, () -> client.chat().completions().create(
                greedyChat("tuned", "Hi", 2).toBuilder().temperature(7.0).build()));
        assertEquals("temperature", hot.param().orElseThrow());
        BadRequestException topK = assertThrows(BadRequestException.class, () -> client.chat().completions().create(
                greedyChat("tuned", "Hi", 2).toBuilder().putAdditionalBodyProperty("top_k", JsonValue.from("many")).build()));
        assertEquals("top_k", topK.param().orElseThrow());

        assertError(post("/v1/chat/completions", "{\"model\": \"tuned\", \"messages\": [", KEY), 400, "not valid JSON");
        assertError(post("/v1/chat/completions", "{\"model\": \"tuned\", \"messages\": []}", KEY), 400, "'messages' must be");
        assertError(post("/v1/chat/completions", "{\"model\": \"tuned\", \"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}],"
                + " \"max_tokens\": -3}", KEY), 400, "'max_tokens' must not be negative");
        assertError(post("/v1/chat/completions", "{\"model\": \"tuned\", \"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}],"
                + " \"max_tokens\": 100000000}", KEY), 400, "this model's context is 8192 tokens");
        String longPrompt = "word ".repeat(9000);
        assertError(post("/v1/completions", "{\"model\": \"tuned\", \"prompt\": \"" + longPrompt + "\"}", KEY), 400,
                "(9002 in the prompt, 16 for the reply)");
        assertError(post("/v1/chat/completions", "{\"model\": \"tuned\", \"messages\": [{\"role\": \"user\", \"content\": \""
                + longPrompt + "\"}]}", KEY), 400, "the prompt is 9009 tokens; the model's context is 8192");
        assertError(post("/v1/chat/completions", "{\"model\": \"tuned\", \"messages\": [{\"role\": \"system\", \"content\": \"Be brief\"},"
                + " {\"role\": \"user\", \"content\": \"Hi\"}]}", KEY), 400, "System role not supported");
        assertError(post("/v1/chat/completions", "{}", null), 401, "no API key");
        assertError(get("/v1/nothing-here", KEY), 404, "no such endpoint");
        HttpResponse<String> health = get("/health", null);
        assertEquals(200, health.statusCode());
        assertEquals("ok", Json.MAPPER.readTree(health.body()).get("status").asText());
    }

    private static void assertError(HttpResponse<String> r, int status, String message) throws Exception {
        assertEquals(status, r.statusCode(), r.body());
        JsonNode e = Json.MAPPER.readTree(r.body()).get("error");
        assertTrue(e.get("message").asText().contains(message), r.body());
        assertTrue(e.has("type") && e.has("param") && e.has("code"), r.body());
        assertFalse(r.body().contains("\tat "), "no stack trace: " + r.body());
    }

    static HttpResponse<String> post(String path, String body, String key) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).POST(HttpRequest.BodyPublishers.ofString(body))
                .header("Content-Type", "application/json");
        if (key != null) {
            b.header("Authorization", "Bearer " + key);
        }
        return HttpClient.newHttpClient().send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    static HttpResponse<String> get(String path, String key) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).GET();
        if (key != null) {
            b.header("Authorization", "Bearer " + key);
        }
        return HttpClient.newHttpClient().send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** A client that reads one event and hangs up frees its decoding slot within a few steps. */
    @Test
    void aClientThatHangsUpMidStreamFreesItsSlot() throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        HttpRequest req = HttpRequest.newBuilder(URI.create(base + "/v1/completions")).header("Authorization", "Bearer " + KEY)
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\": \"tuned\", \"prompt\": \"Once\", \"max_tokens\": 8000,"
                        + " \"temperature\": 0, \"stream\": true}")).build();
        HttpResponse<InputStream> r = http.send(req, HttpResponse.BodyHandlers.ofInputStream());
        try (InputStream in = r.body()) {
            String line = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8)).readLine();
            assertTrue(line.startsWith("data: {"), line);
            assertEquals(1, model.activeGenerations());
        }
        http.close();
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (model.activeGenerations() > 0 && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertEquals(0, model.activeGenerations(), "the slot was freed");
    }

    /** Past --max-batch running and --max-queue waiting, a request gets 429. */
    @Test
    void aFullQueueAnswers429() throws Exception {
        try (LanguageModel small = LanguageModel.load(FIXTURE.resolve("model"), TOKENIZER, new LanguageModel.Options(1, 1));
             OpenAiServer s = new OpenAiServer(small, null)) {
            String url = "http://127.0.0.1:" + s.start("127.0.0.1", 0) + "/v1";
            OpenAIClient c = OpenAIOkHttpClient.builder().baseUrl(url).apiKey("none").maxRetries(0).build();
            try {
                List<StreamResponse<ChatCompletionChunk>> open = new ArrayList<>();
                for (int i = 0; i < 2; i++) {
                    open.add(c.chat().completions().createStreaming(greedyChat(small.name(), "Hi", 8000)));
                    while (small.waitingGenerations() + small.activeGenerations() < i + 1) {
                        Thread.sleep(5);
                    }
                }
                RateLimitException busy = assertThrows(RateLimitException.class, () -> c.chat().completions()
                        .create(greedyChat(small.name(), "Hi", 2)));
                assertTrue(busy.getMessage().contains("requests are waiting"), busy.getMessage());
                open.forEach(StreamResponse::close);
            } finally {
                c.close();
            }
        }
    }
}
