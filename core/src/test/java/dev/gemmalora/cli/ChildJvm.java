package dev.gemmalora.cli;

import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The CLI in a child JVM that a test can signal or kill, started with this JVM's own flags (so its
 * kernels have the same vector width as the test's, -XX:UseAVX=2 included) and classpath.
 */
final class ChildJvm {
    private ChildJvm() {
    }

    static Process start(List<String> args, Path log) throws java.io.IOException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        cmd.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments());
        cmd.addAll(List.of("-Xmx1g", "-cp", System.getProperty("java.class.path"), Main.class.getName()));
        cmd.addAll(args);
        return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    }
}
