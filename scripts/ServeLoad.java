import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.gemmalora.api.LanguageModel;
import dev.gemmalora.bench.RandomModel;
import dev.gemmalora.lora.LoraAdapter;
import dev.gemmalora.lora.LoraConfig;
import dev.gemmalora.lora.LoraInit;
import dev.gemmalora.lora.LoraPair;
import dev.gemmalora.model.GemmaModel;
import dev.gemmalora.server.OpenAiServer;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * The server under load: a random model of the gemma-2-2b shape with three random LoRA adapters,
 * served on loopback; first one client alone runs a set of requests one after another, then 32
 * clients send theirs all at once (mixed adapters, lengths, streaming or not, greedy or sampled),
 * then the same requests go again one at a time. Prints, for each phase, the requests answered and
 * lost, completion tokens and aggregate tokens/s, and whether each greedy request got the same text
 * in the batch as alone.
 * usage: java ServeLoad.java LAYERS CLIENTS MAX_BATCH TOKENIZER_DIR
 */
public class ServeLoad {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String[] QUESTIONS = {"Hi", "Name a colour.", "Why is the sky blue? Explain it to a child in a few sentences.",
            "Count to three.", "What is 2+2?", "Tell me a joke about computers.", "Write a haiku about the sea.",
            "Summarise the plot of Hamlet in two sentences, then name its author and the year it was written."};

    record Result(boolean ok, int tokens, String text, String error) {
    }

    public static void main(String[] args) throws Exception {
        int layers = Integer.parseInt(args[0]);
        int clients = Integer.parseInt(args[1]);
        int maxBatch = Integer.parseInt(args[2]);
        Path tokenizer = Path.of(args[3]);
        GemmaModel model = RandomModel.build(RandomModel.config2b(layers), 1);
        Path dir = Files.createTempDirectory("serve-load");
        List<String> names = new ArrayList<>(List.of("gemma-2-2b-random"));
        try (LanguageModel lm = LanguageModel.of(names.get(0), model, tokenizer, new LanguageModel.Options(maxBatch, 4 * clients))) {
            for (String a : List.of("alpaca", "legal", "medical")) {
                LoraAdapter adapter = LoraInit.create(model, LoraConfig.of(8, 16, 0, false,
                        List.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")), a.hashCode());
                Random r = new Random(a.hashCode());
                for (LoraPair p : adapter.pairs().values()) {
                    float[] b = p.b();
                    for (int i = 0; i < b.length; i++) {
                        b[i] = (float) (r.nextGaussian() * 0.02);
                    }
                }
                adapter.save(dir.resolve(a));
                lm.addAdapter(a, dir.resolve(a));
                names.add(a);
            }
            try (OpenAiServer server = new OpenAiServer(lm, null)) {
                String base = "http://127.0.0.1:" + server.start("127.0.0.1", 0);
                System.out.printf("model: random gemma-2-2b shape, %d layers, adapters %s; max batch %d; %d cores (%s)%n", layers,
                        names.subList(1, names.size()), maxBatch, Runtime.getRuntime().availableProcessors(), cpu());
                int aloneRequests = Math.max(1, clients / 8);
                run("warm-up, 1 client", base, names, 2, 1);
                run("1 client, " + aloneRequests + " requests in turn", base, names, aloneRequests, 1);
                List<Result> together = run(clients + " clients at once", base, names, clients, clients);
                List<Result> again = run("the same, 1 client in turn", base, names, clients, 1);
                int greedy = 0;
                int same = 0;
                for (int k = 0; k < clients; k++) {
                    if (k % 3 != 0) {
                        greedy++;
                        same += together.get(k).text().equals(again.get(k).text()) ? 1 : 0;
                    }
                }
                System.out.printf("greedy requests with the same text in the batch and alone: %d of %d%n", same, greedy);
            }
        }
    }

    static String cpu() throws Exception {
        return Files.readAllLines(Path.of("/proc/cpuinfo")).stream().filter(l -> l.startsWith("model name")).findFirst()
                .map(l -> l.substring(l.indexOf(':') + 2)).orElse("?")
                + (Files.readString(Path.of("/proc/cpuinfo")).contains(" avx512f") ? ", AVX-512" : ", AVX2");
    }

    /** Request i: its model, length and mode vary with i, so every phase mixes the same kinds. */
    static List<Result> run(String phase, String base, List<String> names, int requests, int concurrency) throws Exception {
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        ExecutorService pool = Executors.newFixedThreadPool(concurrency);
        long t0 = System.nanoTime();
        List<Future<Result>> futures = new ArrayList<>();
        for (int i = 0; i < requests; i++) {
            int k = i;
            futures.add(pool.submit(() -> request(http, base, names.get(k % names.size()), QUESTIONS[k % QUESTIONS.length],
                    8 + 8 * (k % 5), k % 2 == 0, k % 3 == 0)));
        }
        int ok = 0;
        int tokens = 0;
        List<String> errors = new ArrayList<>();
        List<Result> results = new ArrayList<>();
        for (Future<Result> f : futures) {
            Result r = f.get();
            results.add(r);
            ok += r.ok ? 1 : 0;
            tokens += r.tokens;
            if (!r.ok) {
                errors.add(r.error);
            }
        }
        double s = (System.nanoTime() - t0) / 1e9;
        pool.shutdown();
        System.out.printf("%-32s answered %d of %d, lost %d, %d completion tokens in %.1f s: %.2f tokens/s%s%n", phase, ok, requests,
                requests - ok, tokens, s, tokens / s, errors.isEmpty() ? "" : " errors: " + errors);
        return results;
    }

    static Result request(HttpClient http, String base, String model, String question, int maxTokens, boolean stream, boolean sample) {
        try {
            String body = JSON.writeValueAsString(JSON.createObjectNode().put("model", model).put("max_tokens", maxTokens)
                    .put("temperature", sample ? 0.7 : 0).put("top_k", sample ? 40 : 0).put("seed", 7).put("stream", stream)
                    .set("messages", JSON.createArrayNode().add(JSON.createObjectNode().put("role", "user").put("content", question))));
            HttpRequest req = HttpRequest.newBuilder(URI.create(base + "/v1/chat/completions"))
                    .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build();
            if (!stream) {
                HttpResponse<String> r = http.send(req, HttpResponse.BodyHandlers.ofString());
                JsonNode n = JSON.readTree(r.body());
                boolean ok = r.statusCode() == 200 && n.path("choices").get(0).path("finish_reason").isTextual();
                return new Result(ok, n.path("usage").path("completion_tokens").asInt(),
                        n.path("choices").path(0).path("message").path("content").asText(), ok ? null : r.body());
            }
            String body2 = body.replace("\"stream\":true", "\"stream\":true,\"stream_options\":{\"include_usage\":true}");
            HttpResponse<InputStream> r = http.send(HttpRequest.newBuilder(req.uri()).header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(body2)).build(), HttpResponse.BodyHandlers.ofInputStream());
            int tokens = 0;
            boolean done = false;
            StringBuilder text = new StringBuilder();
            try (BufferedReader in = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8))) {
                for (String line; (line = in.readLine()) != null; ) {
                    if (line.equals("data: [DONE]")) {
                        done = true;
                    } else if (line.startsWith("data: ")) {
                        JsonNode n = JSON.readTree(line.substring(6));
                        tokens = Math.max(tokens, n.path("usage").path("completion_tokens").asInt());
                        text.append(n.path("choices").path(0).path("delta").path("content").asText(""));
                    }
                }
            }
            return new Result(r.statusCode() == 200 && done && tokens > 0, tokens, text.toString(),
                    done ? null : "stream cut, HTTP " + r.statusCode());
        } catch (Exception e) {
            return new Result(false, 0, "", e.toString());
        }
    }
}
