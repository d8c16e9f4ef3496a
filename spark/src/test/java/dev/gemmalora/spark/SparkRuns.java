package dev.gemmalora.spark;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/** Runs the CLI or the Spark job in this JVM (Spark in local mode), capturing what they print. */
final class SparkRuns {
    record Run(int code, String out, String err) {
    }

    private SparkRuns() {
    }

    static Path shared() {
        return Path.of(System.getProperty("shared.dir", "../../shared"));
    }

    static Path t3() {
        return Path.of(System.getProperty("golden.mc.dir", shared().resolve("golden/t3").toString()));
    }

    static Path tokenizer() {
        return Path.of(System.getProperty("golden.tokenizer", shared().resolve("tokenizers/gemma").toString()));
    }

    /** The Spark job on master, with extra Spark settings (spark.* system properties, as spark-submit passes them). */
    static Run spark(String master, Map<String, String> conf, List<String> args) {
        System.setProperty("spark.master", master);
        conf.forEach(System::setProperty);
        try {
            return capture(() -> SparkMain.run(args.toArray(String[]::new)));
        } finally {
            System.clearProperty("spark.master");
            conf.keySet().forEach(System::clearProperty);
        }
    }

    /** The single-process CLI, gemma-lora itself. */
    static Run cli(List<String> args) {
        return capture(() -> dev.gemmalora.cli.Main.run(args.toArray(String[]::new)));
    }

    private static Run capture(java.util.function.IntSupplier body) {
        PrintStream out = System.out;
        PrintStream err = System.err;
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        ByteArrayOutputStream e = new ByteArrayOutputStream();
        System.setOut(new PrintStream(o, true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(e, true, StandardCharsets.UTF_8));
        int code;
        try {
            code = body.getAsInt();
        } finally {
            System.setOut(out);
            System.setErr(err);
        }
        Run r = new Run(code, o.toString(StandardCharsets.UTF_8), e.toString(StandardCharsets.UTF_8));
        out.print(r.out());
        err.print(r.err());
        return r;
    }

    /**
     * The Spark job in a child JVM (a driver that a test can kill), with the test JVM's flags and
     * classpath less the flags named in without, output and errors to log.
     */
    static Process child(List<String> jvm, List<String> args, Path log, String... without) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        List<String> drop = List.of(without);
        for (String flag : System.getProperty("spark.jvm.flags").trim().split("\\s+")) {
            if (!drop.contains(flag)) {
                cmd.add(flag);
            }
        }
        cmd.add("-Xmx2g");
        cmd.addAll(jvm);
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), SparkMain.class.getName()));
        cmd.addAll(args);
        return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    }

    /** args with each "--option value" of extra replacing the same option in base, and extra flags appended. */
    static List<String> with(List<String> base, String... extra) {
        List<String> out = new ArrayList<>(base);
        for (int i = 0; i < extra.length; i++) {
            boolean valued = i + 1 < extra.length && !extra[i + 1].startsWith("--");
            int at = out.indexOf(extra[i]);
            if (valued && at >= 0) {
                out.set(at + 1, extra[++i]);
            } else if (valued) {
                out.add(extra[i]);
                out.add(extra[++i]);
            } else {
                out.add(extra[i]);
            }
        }
        return out;
    }

    /** Every regular file under dir, relative to it, sorted. */
    static List<String> files(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(Files::isRegularFile).map(p -> dir.relativize(p).toString()).sorted().toList();
        }
    }
}
