package dev.gemmalora.cli;

import dev.gemmalora.eval.Generator;
import dev.gemmalora.model.Gemma2Model;
import dev.gemmalora.tokenizer.ChatTemplate;
import dev.gemmalora.tokenizer.HfTokenizer;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

@Command(name = "chat", mixinStandardHelpOptions = true, showDefaultValues = true, sortOptions = false,
        description = {"Talk to the model with the Gemma chat template; tokens print as they are generated.",
                "Type /reset to start a new conversation, /quit (or end of input) to leave."})
final class ChatCommand implements Callable<Integer> {
    @Mixin
    GenerationOptions opts;

    @Override
    public Integer call() throws IOException {
        Gemma2Model m = opts.loadModel();
        try (HfTokenizer tok = opts.loadTokenizer()) {
            Generator gen = new Generator(m);
            Generator.Picker picker = opts.picker();
            Set<Integer> stop = GenerationOptions.stopIds(tok);
            List<ChatTemplate.Message> history = new ArrayList<>();
            BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
            System.out.println("chatting with " + opts.models.model + (opts.adapter != null ? " + " + opts.adapter : "")
                    + " (/reset: new conversation, /quit: leave)");
            while (true) {
                System.out.print("\nyou> ");
                System.out.flush();
                String line = in.readLine();
                if (line == null || line.strip().equals("/quit") || line.strip().equals("/exit")) {
                    System.out.println();
                    return 0;
                }
                if (line.strip().equals("/reset")) {
                    history.clear();
                    System.out.println("(conversation cleared)");
                    continue;
                }
                if (line.isBlank()) {
                    continue;
                }
                history.add(new ChatTemplate.Message("user", line));
                int[] prompt = ChatTemplate.encode(tok, history, true);
                System.out.print("model> ");
                String reply = stream(gen, tok, prompt, opts.maxNewTokens, stop, picker);
                history.add(new ChatTemplate.Message("model", reply));
                System.out.println();
            }
        }
    }

    /** Generates and prints the text as it grows; returns the whole reply. */
    static String stream(Generator gen, HfTokenizer tok, int[] prompt, int max, Set<Integer> stop, Generator.Picker picker) {
        List<Integer> ids = new ArrayList<>();
        String[] shown = {""};
        gen.generate(prompt, max, stop, picker, t -> {
            ids.add(t);
            String text = tok.decode(ids.stream().mapToInt(Integer::intValue).toArray(), true);
            if (text.startsWith(shown[0]) && !text.endsWith("\uFFFD")) {
                System.out.print(text.substring(shown[0].length()));
                System.out.flush();
                shown[0] = text;
            }
            return true;
        });
        String all = tok.decode(ids.stream().mapToInt(Integer::intValue).toArray(), true);
        if (all.startsWith(shown[0]) && all.length() > shown[0].length()) {
            System.out.print(all.substring(shown[0].length()));
        }
        return all;
    }
}
