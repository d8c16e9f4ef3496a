package dev.gemmalora.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gemmalora.api.ChatMessage;
import dev.gemmalora.api.Completion;
import dev.gemmalora.api.Generation;
import dev.gemmalora.api.GenerationListener;
import dev.gemmalora.api.InvalidRequestException;
import dev.gemmalora.api.LanguageModel;
import dev.gemmalora.io.InputException;
import dev.gemmalora.io.Json;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ProgressBar;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "generate", mixinStandardHelpOptions = true, showDefaultValues = true, sortOptions = false,
        description = {"Answer a file of prompts, JSON Lines in and out.",
                "Each input row is {\"prompt\": \"...\"} or {\"messages\": [{\"role\", \"content\"}...]}; each output row is the input "
                        + "plus \"completion\", \"tokens\" and \"seconds\" (from its prompt's start to its last token)."})
final class GenerateCommand implements Callable<Integer> {
    @Mixin
    GenerationOptions opts;

    @Option(names = "--prompts", required = true, paramLabel = "FILE", description = "Input JSON Lines.")
    Path prompts;

    @Option(names = "--output", required = true, paramLabel = "FILE", description = "Output JSON Lines (must not exist).")
    Path output;

    @Option(names = "--raw", description = "Use each prompt as plain text instead of a user turn in the chat template.")
    boolean raw;

    @Option(names = "--batch", defaultValue = "4", description = "Prompts answered together: each step reads the weights once"
            + " for all of them, a finished one's place goes to the next prompt, and each gets the completion it would get alone. Each holds its own KV cache (gemma-2-2b:"
            + " about 0.2 MB a token), so lower it for very long prompts.")
    int batch;

    @Override
    public Integer call() throws IOException {
        if (!Files.isRegularFile(prompts)) {
            throw new InputException(prompts + ": prompts file not found");
        }
        if (batch < 1) {
            throw new InputException("--batch: " + batch + ", expected at least 1 prompt per batch");
        }
        if (Files.exists(output)) {
            throw new InputException(output + ": already exists; choose another --output so nothing is overwritten");
        }
        List<ObjectNode> rows = new ArrayList<>();
        List<String> lines = Files.readAllLines(prompts, StandardCharsets.UTF_8);
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).isBlank()) {
                continue;
            }
            JsonNode n;
            try {
                n = Json.MAPPER.readTree(lines.get(i));
            } catch (IOException e) {
                throw new InputException(prompts + ": line " + (i + 1) + " is not valid JSON");
            }
            if (!(n instanceof ObjectNode o) || !(n.path("prompt").isTextual() || n.path("messages").isArray())) {
                throw new InputException(prompts + ": line " + (i + 1) + " needs a \"prompt\" string or a \"messages\" list");
            }
            rows.add(o);
        }
        try (LanguageModel model = opts.load(batch, Math.max(1, rows.size())); BufferedWriter out = Files.newBufferedWriter(output, StandardCharsets.UTF_8);
             ProgressBar bar = Progress.start("generate", rows.size())) {
            // Every prompt is queued at once: a finished answer's slot goes to the next prompt at the next step.
            List<Generation> running = new ArrayList<>();
            List<long[]> times = new ArrayList<>();
            for (int i = 0; i < rows.size(); i++) {
                long[] t = new long[2];
                times.add(t);
                running.add(model.submit(opts.adapterName(), encode(model, rows.get(i), i + 1), opts.params(i), new GenerationListener() {
                    @Override
                    public void onStart() {
                        t[0] = System.nanoTime();
                    }

                    @Override
                    public void onFinish(Completion c) {
                        t[1] = System.nanoTime();
                    }
                }));
            }
            for (int i = 0; i < rows.size(); i++) {
                Completion c = running.get(i).await();
                ObjectNode row = rows.get(i);
                row.put("completion", c.text());
                row.put("tokens", c.completionTokens());
                row.put("seconds", (times.get(i)[1] - times.get(i)[0]) / 1e9);
                out.write(row.toString());
                out.write('\n');
                out.flush();
                bar.step();
            }
        }
        System.out.println("wrote " + rows.size() + " completions to " + output);
        return 0;
    }

    /** The row's prompt ids; a conversation the template refuses, or a prompt too long, names its line. */
    private int[] encode(LanguageModel model, ObjectNode row, int line) {
        try {
            if (row.has("messages")) {
                List<ChatMessage> msgs = new ArrayList<>();
                row.get("messages").forEach(n -> msgs.add(new ChatMessage(n.path("role").asText(), n.path("content").asText())));
                return model.chatPrompt(msgs);
            }
            String p = row.get("prompt").asText();
            return raw ? model.textPrompt(p) : model.chatPrompt(List.of(ChatMessage.user(p)));
        } catch (InvalidRequestException e) {
            throw new InputException(prompts + ": line " + line + ": " + e.getMessage());
        }
    }
}
