package dev.gemmalora.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.File;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** gemma-lora serve as a user runs it: its own process, SIGTERM while a reply streams. */
class ServeProcessTest {
    private static Process serve(Path log, String... extra) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", "jdk.incubator.vector", "-Xmx1g", "-cp", System.getProperty("java.class.path"),
                "dev.gemmalora.cli.Main", "serve", "--model", OpenAiServerTest.FIXTURE.resolve("model").toString(),
                "--tokenizer", OpenAiServerTest.TOKENIZER.toString(),
                "--adapter", "tuned=" + OpenAiServerTest.FIXTURE.resolve("adapter"), "--port", "0"));
        cmd.addAll(List.of(extra));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put(ServeCommand.API_KEY_VARIABLE, "k");
        return pb.start();
    }

    /** The port from the "serving ... on http://127.0.0.1:PORT/v1" line, once it is printed. */
    private static int port(Process p, Path log) throws Exception {
        Pattern serving = Pattern.compile("on http://127\\.0\\.0\\.1:(\\d+)/v1");
        for (int i = 0; i < 600 && p.isAlive(); i++) {
            Matcher m = serving.matcher(Files.readString(log));
            if (m.find()) {
                return Integer.parseInt(m.group(1));
            }
            Thread.sleep(100);
        }
        throw new AssertionError("serve did not start: " + Files.readString(log));
    }

    @Test
    void sigtermLetsTheRunningStreamFinishAndExitsZero(@TempDir Path dir) throws Exception {
        // The key comes from GEMMA_LORA_API_KEY (see serve()).
        Path log = dir.resolve("serve.log");
        Process p = serve(log);
        int port = port(p, log);
        HttpClient http = HttpClient.newHttpClient();
        HttpRequest req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/chat/completions"))
                .header("Authorization", "Bearer k").POST(HttpRequest.BodyPublishers.ofString("{\"model\": \"tuned\", \"messages\":"
                        + " [{\"role\": \"user\", \"content\": \"Hi\"}], \"max_tokens\": 300, \"temperature\": 0, \"stream\": true,"
                        + " \"stream_options\": {\"include_usage\": true}}")).build();
        HttpResponse<InputStream> r = http.send(req, HttpResponse.BodyHandlers.ofInputStream());
        List<String> events = new ArrayList<>();
        try (BufferedReader in = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8))) {
            events.add(in.readLine());
            p.destroy(); // SIGTERM
            for (String line; (line = in.readLine()) != null; ) {
                if (!line.isEmpty()) {
                    events.add(line);
                }
            }
        } catch (java.io.IOException e) {
            p.waitFor(60, TimeUnit.SECONDS);
            throw new AssertionError("stream cut after " + events.size() + " events; serve printed: " + Files.readString(log), e);
        }
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), Files.readString(log));
        assertEquals(0, p.exitValue(), Files.readString(log));
        assertEquals("data: [DONE]", events.get(events.size() - 1));
        assertTrue(events.get(events.size() - 3).contains("\"finish_reason\":\"length\""), String.join("\n", events));
        assertTrue(events.get(events.size() - 2).contains("\"completion_tokens\":300"), "every token before the exit: "
                + events.get(events.size() - 2));
        assertTrue(Files.readString(log).contains("stopping: finishing the running requests"), Files.readString(log));
        assertTrue(Files.readString(log).contains("API key required"), Files.readString(log));
    }

    @Test
    void aPortInUseIsOneLineAndExitTwo(@TempDir Path dir) throws Exception {
        try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            Path log = dir.resolve("serve.log");
            List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "--add-modules", "jdk.incubator.vector", "-cp", System.getProperty("java.class.path"), "dev.gemmalora.cli.Main",
                    "serve", "--model", OpenAiServerTest.FIXTURE.resolve("model").toString(), "--tokenizer",
                    OpenAiServerTest.TOKENIZER.toString(), "--port", String.valueOf(taken.getLocalPort())));
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            assertTrue(p.waitFor(60, TimeUnit.SECONDS));
            assertEquals(2, p.exitValue(), Files.readString(log));
            List<String> errors = Files.readAllLines(log).stream().filter(l -> l.startsWith("error:")).toList();
            assertEquals(1, errors.size(), Files.readString(log));
            assertTrue(errors.get(0).contains("--port " + taken.getLocalPort() + ": cannot listen there"), errors.get(0));
        }
    }
}
