package dev.gemmalora.cli;

import picocli.CommandLine.Command;

@Command(name = "export", mixinStandardHelpOptions = true,
        description = "Write the model or the adapter in another tool's format; see the subcommands.",
        subcommands = {ExportGgufCommand.class, ExportGgufLoraCommand.class})
final class ExportCommand extends CommandGroup {
}
