package dev.gemmalora.cli;

import picocli.CommandLine.Command;

@Command(name = "eval", mixinStandardHelpOptions = true, description = "Evaluate models; see the subcommands.",
        subcommands = {EvalTruthfulQaCommand.class})
final class EvalCommand extends CommandGroup {
}
