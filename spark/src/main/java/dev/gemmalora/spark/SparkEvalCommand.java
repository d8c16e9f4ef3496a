package dev.gemmalora.spark;

import dev.gemmalora.cli.CommandGroup;
import picocli.CommandLine.Command;

@Command(name = "eval", mixinStandardHelpOptions = true, description = "Evaluate models on the cluster; see the subcommands.",
        subcommands = {SparkEvalTruthfulQaCommand.class})
final class SparkEvalCommand extends CommandGroup {
}
