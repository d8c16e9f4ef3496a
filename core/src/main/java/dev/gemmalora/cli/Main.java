package dev.gemmalora.cli;

import dev.gemmalora.api.InvalidRequestException;
import dev.gemmalora.download.DownloadException;
import dev.gemmalora.io.InputException;
import dev.gemmalora.io.OutputException;
import java.util.ServiceLoader;
import java.util.function.UnaryOperator;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** The gemma-lora command: subcommands for each job, one-line errors unless --verbose. */
@Command(name = "gemma-lora", mixinStandardHelpOptions = true, version = "gemma-lora 0.1.0",
        description = "LoRA fine-tuning, TruthfulQA evaluation and serving of Gemma models (Gemma 1, 2 and 3), in pure Java.",
        subcommands = {QuickstartCommand.class, TrainCommand.class, EvalCommand.class, ChatCommand.class, GenerateCommand.class,
                MergeCommand.class, ExportCommand.class, InspectCommand.class, DownloadCommand.class, BenchCommand.class})
public final class Main extends CommandGroup {
    @Option(names = "--verbose", description = "Print stack traces of errors.", scope = CommandLine.ScopeType.INHERIT)
    boolean verbose;

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the CLI and returns its exit code: 0 success, 2 bad input, 1 any other failure. */
    public static int run(String... args) {
        return run(new Main(), e -> e, args);
    }

    /**
     * A command that lives in another module (serve, with its HTTP server) and joins this CLI when
     * its jar is on the classpath, listed in META-INF/services under this interface's name.
     */
    public interface Plugin {
        /** The picocli command object; its @Command name is the subcommand's. */
        Object command();
    }

    /**
     * Runs the picocli command root with this CLI's error rules. explain may turn a failure into an
     * InputException first (a cluster job names the host where a file was missing, say).
     */
    public static int run(Object root, UnaryOperator<Exception> explain, String... args) {
        CommandLine cl = new CommandLine(root);
        if (root instanceof Main) {
            ServiceLoader.load(Plugin.class).forEach(p -> cl.addSubcommand(p.command()));
        }
        boolean verbose = java.util.Arrays.asList(args).contains("--verbose");
        cl.setExecutionExceptionHandler((thrown, line, parsed) -> {
            if (verbose) {
                thrown.printStackTrace();
            }
            Exception ex = explain.apply(thrown);
            if (ex instanceof InputException || ex instanceof InvalidRequestException) {
                System.err.println("error: " + ex.getMessage());
                return 2;
            }
            if (ex instanceof DownloadException || ex instanceof OutputException) {
                System.err.println("error: " + ex.getMessage());
                return 1;
            }
            System.err.println("error: " + ex + (verbose ? "" : " (run with --verbose for the stack trace)"));
            return 1;
        });
        try {
            return cl.execute(args);
        } catch (OutOfMemoryError e) {
            System.err.println("error: the Java heap is full (" + Runtime.getRuntime().maxMemory() / (1 << 20) + " MB). The launcher's"
                    + " default is -Xmx4g: give it more with GEMMA_LORA_JVM_OPTS=-Xmx12g, or use a smaller batch or"
                    + " gradient checkpointing.");
            return 1;
        }
    }
}
