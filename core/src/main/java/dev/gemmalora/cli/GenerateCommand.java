package dev.gemmalora.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gemmalora.eval.Generator;
import dev.gemmalora.io.InputException;
import dev.gemmalora.io.Json;
import dev.gemmalora.model.Gemma2Model;
import dev.gemmalora.tokenizer.ChatTemplate;
import dev.gemmalora.tokenizer.HfTokenizer;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.stream.IntStream;
import me.tongfei.progressbar.ProgressBar;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "generate", mixinStandardHelpOptions = true, showDefaultValues = true, sortOptions = false,
        description = {"Answer a file of prompts, JSON Lines in and out.",
                "Each input row is {\"prompt\": \"...\"} or {\"messages\": [{\"role\", \"content\"}...]}; each output row is the input "
                        + "plus \"completion\", \"tokens\" and \"seconds\" (its share of its batch's time)."})
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
            + " for all of them, and each gets the completion it would get alone. Each holds its own KV cache (gemma-2-2b:"
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
        Gemma2Model m = opts.loadModel();
        try (HfTokenizer tok = opts.loadTokenizer(); BufferedWriter out = Files.newBufferedWriter(output, StandardCharsets.UTF_8);
             ProgressBar bar = Progress.start("generate", rows.size())) {
            Generator gen = new Generator(m);
            Set<Integer> stop = GenerationOptions.stopIds(tok);
            for (int i = 0; i < rows.size(); i += batch) {
                long t0 = System.nanoTime();
                List<ObjectNode> part = rows.subList(i, Math.min(rows.size(), i + batch));
                List<int[]> ids = part.stream().map(r -> encode(tok, r)).toList();
                List<Generator.Picker> pickers = IntStream.range(i, i + part.size()).mapToObj(opts::picker).toList();
                List<Generator.Generation> made = gen.generateAll(ids, opts.maxNewTokens, stop, pickers, null);
                double seconds = (System.nanoTime() - t0) / 1e9;
                long positions = Math.max(1, made.stream().mapToLong(Generator.Generation::positions).sum());
                for (int j = 0; j < part.size(); j++) {
                    ObjectNode row = part.get(j);
                    List<Integer> newIds = made.get(j).tokens();
                    row.put("completion", tok.decode(newIds.stream().mapToInt(Integer::intValue).toArray(), true));
                    row.put("tokens", newIds.size());
                    row.put("seconds", seconds * made.get(j).positions() / positions);
                    out.write(row.toString());
                    out.write('\n');
                    bar.step();
                }
                out.flush();
            }
        }
        System.out.println("wrote " + rows.size() + " completions to " + output);
        return 0;
    }

    private int[] encode(HfTokenizer tok, ObjectNode row) {
        if (row.has("messages")) {
            List<ChatTemplate.Message> msgs = new ArrayList<>();
            row.get("messages").forEach(n -> msgs.add(new ChatTemplate.Message(n.path("role").asText(), n.path("content").asText())));
            return ChatTemplate.encode(tok, msgs, true);
        }
        String p = row.get("prompt").asText();
        return raw ? tok.encode(p, true) : ChatTemplate.encode(tok, List.of(new ChatTemplate.Message("user", p)), true);
    }
}
