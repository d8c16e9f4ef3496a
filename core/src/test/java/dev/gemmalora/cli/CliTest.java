package dev.gemmalora.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gemmalora.GoldenPaths;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import org.junit.jupiter.api.io.TempDir;

class CliTest {
    record Run(int code, String out, String err) {
    }

    static Run run(String... args) {
        PrintStream oldOut = System.out;
        PrintStream oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        System.setOut(new PrintStream(out, true));
        System.setErr(new PrintStream(err, true));
        try {
            int code = Main.run(args);
            return new Run(code, out.toString(), err.toString());
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    @Test
    void inspectPrintsConfigParametersAndShapes() {
        Run r = run("inspect", "--model", GoldenPaths.t1().resolve("model").toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("num_hidden_layers                  4"), r.out());
        assertTrue(r.out().contains("parameters: 230,464"), r.out());
        assertTrue(r.out().contains("model.layers.0.self_attn.q_proj.weight") && r.out().contains("[96, 64]"), r.out());
    }

    @Test
    void missingModelFolderIsOneLineAndExitCode2() {
        Run r = run("inspect", "--model", "/no/such/model");
        assertEquals(2, r.code());
        assertEquals("error: /no/such/model: model folder not found", r.err().strip());
    }

    @Test
    void notGemma2IsExitCode2(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("config.json"), "{\"model_type\":\"llama\"}");
        Run r = run("inspect", "--model", dir.toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("model_type") && r.err().lines().count() == 1, r.err());
    }

    /**
     * A command list shows only the first description line, and help starts each line on a line
     * of its own, so every line must be whole sentences (three broke mid-sentence in help).
     */
    @Test
    void everyCommandsDescriptionLinesAreSentences() {
        assertDescriptionsAreSentences(new CommandLine(new Main()));
    }

    private static void assertDescriptionsAreSentences(CommandLine cl) {
        for (String line : cl.getCommandSpec().usageMessage().description()) {
            assertTrue(line.endsWith("."), cl.getCommandName() + ": " + line);
        }
        cl.getSubcommands().values().forEach(CliTest::assertDescriptionsAreSentences);
    }

    /** Where picocli prints each default itself, a description that also says it prints it twice. */
    @Test
    void helpShowsEachDefaultOnceAndNoEmptyList() {
        assertDefaultsShownOnce(new CommandLine(new Main()));
    }

    private static void assertDefaultsShownOnce(CommandLine cl) {
        String usage = cl.getUsageMessage();
        assertTrue(!usage.contains("Default: []"), cl.getCommandName() + ":\n" + usage);
        if (cl.getCommandSpec().usageMessage().showDefaultValues()) {
            cl.getCommandSpec().options().forEach(o -> assertTrue(!String.join(" ", o.description()).contains("DEFAULT-VALUE"),
                    cl.getCommandName() + " " + o.longestName()));
        }
        cl.getSubcommands().values().forEach(CliTest::assertDefaultsShownOnce);
    }
}
