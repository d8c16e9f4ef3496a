package dev.gemmalora.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gemmalora.GoldenPaths;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The README's Java example, as printed there, compiled and run against the real-vocabulary fixture. */
class ReadmeExampleTest {
    static String example() throws IOException {
        String readme = Files.readString(Path.of("../README.md"));
        int section = readme.indexOf("## Use it from Java");
        int start = readme.indexOf("```java\n", section) + "```java\n".length();
        return readme.substring(start, readme.indexOf("```", start));
    }

    @Test
    void theReadmeExampleCompilesAndRuns(@TempDir Path dir) throws Exception {
        String source = example();
        assertTrue(source.lines().count() <= 20, "a short example: " + source.lines().count() + " lines");
        // The example's folders, made of the fixture: a model folder holding its tokenizer, and the adapter.
        Path model = Files.createDirectories(dir.resolve("gemma-2-2b-it"));
        for (Path from : List.of(GoldenPaths.mc().resolve("model"), GoldenPaths.tokenizer())) {
            try (Stream<Path> files = Files.list(from)) {
                for (Path f : files.toList()) {
                    Files.copy(f, model.resolve(f.getFileName()));
                }
            }
        }
        String runnable = source.replace("models/gemma-2-2b-it", model.toString())
                .replace("runs/alpaca/final", GoldenPaths.mc().resolve("adapter").toAbsolutePath().toString());
        Path file = dir.resolve("src/Example.java");
        Files.createDirectories(file.getParent());
        Files.writeString(file, runnable);
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        ByteArrayOutputStream diagnostics = new ByteArrayOutputStream();
        int rc = javac.run(null, null, diagnostics, "-classpath", System.getProperty("java.class.path"), "-d",
                dir.resolve("classes").toString(), file.toString());
        assertEquals(0, rc, diagnostics.toString(StandardCharsets.UTF_8));

        PrintStream out = System.out;
        ByteArrayOutputStream printed = new ByteArrayOutputStream();
        try (URLClassLoader loader = new URLClassLoader(new URL[] {dir.resolve("classes").toUri().toURL()}, getClass().getClassLoader())) {
            System.setOut(new PrintStream(printed, true, StandardCharsets.UTF_8));
            loader.loadClass("Example").getMethod("main", String[].class).invoke(null, (Object) new String[0]);
        } finally {
            System.setOut(out);
        }
        List<String> lines = printed.toString(StandardCharsets.UTF_8).lines().toList();
        String expected;
        try (LanguageModel m = LanguageModel.load(model)) {
            m.addAdapter("alpaca", GoldenPaths.mc().resolve("adapter"));
            expected = m.chat("alpaca", List.of(ChatMessage.user("Name three primes.")), SamplingParams.greedy(64), null).text();
        }
        String all = String.join("\n", lines);
        assertTrue(all.startsWith(expected + "\n64 tokens, LENGTH\n"), all);
        assertTrue(Double.parseDouble(lines.getLast()) < 0, lines.getLast());
    }
}
