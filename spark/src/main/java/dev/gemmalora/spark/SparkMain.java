package dev.gemmalora.spark;

import dev.gemmalora.cli.CommandGroup;
import dev.gemmalora.cli.Main;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** The Spark job: spark-submit --class dev.gemmalora.spark.SparkMain JOB.jar train|eval truthfulqa|bench ... */
@Command(name = "gemma-lora-spark", mixinStandardHelpOptions = true, version = "gemma-lora 0.1.0",
        description = "gemma-lora's train and eval truthfulqa as an Apache Spark job: the same options, files and numbers.",
        subcommands = {SparkTrainCommand.class, SparkEvalCommand.class, SparkBenchCommand.class})
public final class SparkMain extends CommandGroup {
    @Option(names = "--verbose", description = "Print stack traces of errors.", scope = CommandLine.ScopeType.INHERIT)
    boolean verbose;

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the job and returns its exit code: 0 success, 2 bad input (local or on an executor), 1 any other failure. */
    public static int run(String... args) {
        return Main.run(new SparkMain(), SparkErrors::explain, args);
    }
}
