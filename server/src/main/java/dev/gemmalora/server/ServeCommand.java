package dev.gemmalora.server;

import dev.gemmalora.api.LanguageModel;
import dev.gemmalora.cli.ModelOptions;
import dev.gemmalora.cli.StopRequests;
import dev.gemmalora.io.InputException;
import io.javalin.util.JavalinBindException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "serve", mixinStandardHelpOptions = true, showDefaultValues = true, sortOptions = false,
        description = {"Serve the model and its adapters over the OpenAI API (chat and text completions, streaming).",
                "Every request's \"model\" picks the base model (its folder's name) or an adapter by NAME; requests decode "
                        + "together, whatever adapter each uses, and each gets the tokens it would get alone."})
public final class ServeCommand implements Callable<Integer> {
    /** Where --api-key is read from when the option is not given. */
    public static final String API_KEY_VARIABLE = "GEMMA_LORA_API_KEY";

    @Mixin
    ModelOptions models;

    @Option(names = "--adapter", paramLabel = "NAME=DIR", showDefaultValue = CommandLine.Help.Visibility.NEVER, description = "A PEFT LoRA adapter served as model NAME (repeatable).")
    Map<String, Path> adapters = new LinkedHashMap<>();

    @Option(names = "--host", paramLabel = "ADDRESS", defaultValue = "127.0.0.1", description = "Address to listen on (0.0.0.0: every interface).")
    String host;

    @Option(names = "--port", paramLabel = "PORT", defaultValue = "8000", description = "Port to listen on.")
    int port;

    @Option(names = "--max-batch", paramLabel = "N", defaultValue = "8", description = "Requests decoded together at most; more wait in the queue.")
    int maxBatch;

    @Option(names = "--max-queue", paramLabel = "N", defaultValue = "64", description = "Requests waiting for a slot at most; past that: HTTP 429.")
    int maxQueue;

    @Option(names = "--api-key", paramLabel = "KEY", description = "Require 'Authorization: Bearer KEY' on every endpoint but "
            + "/health (default: the " + API_KEY_VARIABLE + " environment variable; neither: no key).")
    String apiKey;

    @Option(names = "--shutdown-grace", defaultValue = "30", paramLabel = "SECONDS", description = "On Ctrl-C or SIGTERM, how long "
            + "running requests may take to finish before they are cancelled.")
    int shutdownGrace;

    @Override
    public Integer call() throws InterruptedException {
        if (port < 0 || port > 65535) {
            throw new InputException("--port: " + port + ", expected 0 to 65535");
        }
        if (shutdownGrace < 0) {
            throw new InputException("--shutdown-grace: " + shutdownGrace + ", expected 0 or more seconds");
        }
        if (maxBatch < 1) {
            throw new InputException("--max-batch: " + maxBatch + ", expected at least 1");
        }
        if (maxQueue < 1) {
            throw new InputException("--max-queue: " + maxQueue + ", expected at least 1");
        }
        LanguageModel.Options options = new LanguageModel.Options(maxBatch, maxQueue);
        String key = apiKey != null ? apiKey : System.getenv(API_KEY_VARIABLE);
        LanguageModel model = LanguageModel.load(models.model, models.tokenizerDir(), options);
        try (model) {
            for (Map.Entry<String, Path> a : adapters.entrySet()) {
                try {
                    model.addAdapter(a.getKey(), a.getValue());
                } catch (IllegalArgumentException e) {
                    throw new InputException("--adapter " + a.getKey() + "=" + a.getValue() + ": " + e.getMessage());
                }
            }
            CountDownLatch stop = new CountDownLatch(1);
            try (OpenAiServer server = new OpenAiServer(model, key == null || key.isEmpty() ? null : key);
                 StopRequests signals = StopRequests.install("finishing the running requests (up to " + shutdownGrace
                         + " s), refusing new ones", stop::countDown)) {
                int bound = start(server);
                List<String> names = new ArrayList<>(List.of(model.name()));
                names.addAll(model.adapterNames());
                System.out.println("serving " + String.join(", ", names) + " on http://" + host + ":" + bound + "/v1 (max batch "
                        + maxBatch + ", queue " + maxQueue + (key != null && !key.isEmpty() ? ", API key required" : "") + ")");
                System.out.flush();
                stop.await();
                server.refuseNewRequests();
                model.shutdown(shutdownGrace * 1000L);
            }
        }
        System.err.println("stopped");
        return 0;
    }

    private int start(OpenAiServer server) {
        try {
            return server.start(host, port);
        } catch (JavalinBindException e) {
            throw new InputException("--host " + host + " --port " + port + ": cannot listen there (" + e.getMessage()
                    + "); choose another --port");
        }
    }
}
