package dev.gemmalora.cli;

import dev.gemmalora.api.ChatMessage;
import dev.gemmalora.api.Completion;
import dev.gemmalora.api.LanguageModel;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
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
        try (LanguageModel model = opts.load(1, 1)) {
            List<ChatMessage> history = new ArrayList<>();
            BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
            System.out.println("chatting with " + opts.models.model + (opts.adapter != null ? " + " + opts.adapter : "")
                    + " (/reset: new conversation, /quit: leave)");
            for (int turn = 0; ; turn++) {
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
                history.add(ChatMessage.user(line));
                System.out.print("model> ");
                Completion reply = model.chat(opts.adapterName(), history, opts.params(turn), piece -> {
                    System.out.print(piece);
                    System.out.flush();
                });
                history.add(ChatMessage.assistant(reply.text()));
                System.out.println();
            }
        }
    }
}
