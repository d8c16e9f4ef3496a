package dev.gemmalora.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gemmalora.GoldenPaths;
import dev.gemmalora.GoldenTokenizerTest;
import dev.gemmalora.io.Json;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EvalTruthfulQaCommandTest {
    private static CliTest.Run eval(Path out, Path data, String... extra) {
        List<String> a = new ArrayList<>(List.of("eval", "truthfulqa", "--model", GoldenPaths.mc().resolve("model").toString(),
                "--tokenizer", GoldenPaths.tokenizer().toString(), "--data", data.toString(), "--output", out.toString()));
        a.addAll(List.of(extra));
        return CliTest.run(a.toArray(String[]::new));
    }

    private static Path data() {
        return GoldenPaths.shared().resolve("data/truthfulqa");
    }

    @Test
    void baseAndAdapterRowsMatchGoldenAndAnInterruptedRunResumes(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("eval");
        String adapter = GoldenPaths.mc().resolve("adapter").toString();
        CliTest.Run r = eval(out, data(), "--limit", "6", "--adapter", adapter);
        assertEquals(0, r.code(), r.err());
        List<JsonNode> golden = GoldenTokenizerTest.lines(GoldenPaths.mc().resolve("truthfulqa_mc_adapter.jsonl"));
        List<JsonNode> rows = GoldenTokenizerTest.lines(out.resolve("adapter/results.jsonl"));
        assertEquals(6, rows.size());
        for (int i = 0; i < 6; i++) {
            assertEquals(i, rows.get(i).get("index").asInt());
            for (int c = 0; c < golden.get(i).at("/mc2_targets/loglik").size(); c++) {
                assertEquals(golden.get(i).at("/mc2_targets/loglik").get(c).asDouble(), rows.get(i).at("/mc2_targets/loglik").get(c).asDouble(), 1e-3);
            }
            assertEquals(golden.get(i).get("mc1").asDouble(), rows.get(i).get("mc1").asDouble());
        }
        assertEquals("Education", rows.get(5).get("category").asText());
        JsonNode summary = Json.read(out.resolve("base/summary.json"));
        assertEquals(6, summary.get("n").asInt());
        assertTrue(summary.get("positions").asLong() < summary.get("lm_eval_positions").asLong());
        String md = Files.readString(out.resolve("report.md"));
        assertTrue(md.contains("| mc2 |") && md.contains("adapter - base") && md.contains("Distraction"), md);
        assertTrue(md.matches("(?s).*\\*\\*time\\*\\*: base \\d+ s, adapter \\d+ s\n.*"), md);
        assertTrue(Files.readString(out.resolve("report.html")).contains("data:image/png;base64,"));

        // Crash after three base questions, the fourth half written.
        Path results = out.resolve("base/results.jsonl");
        List<String> lines = Files.readAllLines(results);
        Files.write(results, lines.subList(0, 3));
        Files.writeString(results, lines.get(3).substring(0, 40), java.nio.file.StandardOpenOption.APPEND);
        CliTest.Run again = eval(out, data(), "--limit", "6", "--adapter", adapter);
        assertEquals(0, again.code(), again.err());
        assertTrue(again.out().contains("base: 3 questions already scored"), again.out());
        assertTrue(again.out().contains("adapter: 6 questions already scored"), again.out());
        List<JsonNode> resumed = GoldenTokenizerTest.lines(results);
        assertEquals(6, resumed.size());
        for (int i = 0; i < 6; i++) {
            assertEquals(Json.MAPPER.readTree(lines.get(i)).get("mc2_targets"), resumed.get(i).get("mc2_targets"));
        }
        assertEquals(summary.get("mc2").asDouble(), Json.read(out.resolve("base/summary.json")).get("mc2").asDouble(), 1e-12);

        CliTest.Run other = eval(out, data(), "--limit", "7");
        assertEquals(2, other.code());
        assertTrue(other.err().contains("holds an evaluation with other settings"), other.err());
    }

    @Test
    void binaryTaskOnThe2025FilesAndAClearErrorOnTheOldOnes(@TempDir Path dir) throws Exception {
        CliTest.Run old = eval(dir.resolve("a"), data(), "--tasks", "binary", "--limit", "2");
        assertEquals(2, old.code());
        assertTrue(old.err().contains("has no mc0_targets; the binary task needs the 2025"), old.err());
        CliTest.Run r = eval(dir.resolve("b"), data().resolve("2025"), "--tasks", "binary,mc1", "--limit", "3");
        assertEquals(0, r.code(), r.err());
        JsonNode row = GoldenTokenizerTest.lines(dir.resolve("b/base/results.jsonl")).get(0);
        assertEquals(2, row.at("/mc0_targets/loglik").size());
        assertTrue(row.has("binary") && row.has("mc1") && !row.has("mc2"));
        assertTrue(Json.read(dir.resolve("b/base/summary.json")).has("binary"));
    }

    /** The generation task end to end: greedy completions and the 12 BLEU/ROUGE fields per row and in the summary. */
    @Test
    void generationTaskWritesCompletionsAndMetrics(@TempDir Path dir) throws Exception {
        CliTest.Run r = eval(dir.resolve("g"), data(), "--tasks", "gen", "--limit", "2");
        assertEquals(0, r.code(), r.err());
        List<JsonNode> rows = GoldenTokenizerTest.lines(dir.resolve("g/base/results.jsonl"));
        assertEquals(2, rows.size());
        for (JsonNode row : rows) {
            assertTrue(row.get("generation").isTextual() && !row.get("generation").asText().contains("\n\n"), row.toString());
            for (String m : List.of("bleu", "rouge1", "rouge2", "rougeL")) {
                assertTrue(row.has(m + "_max") && row.has(m + "_acc") && row.has(m + "_diff"), m);
            }
            assertTrue(!row.has("mc1") && row.get("positions").asLong() > 0);
        }
        assertTrue(Json.read(dir.resolve("g/base/summary.json")).has("rougeL_diff"));
    }

    @Test
    void malformedDataNamesTheFileAndQuestion(@TempDir Path dir) throws Exception {
        Path noTrue = dir.resolve("no-true");
        Files.createDirectories(noTrue);
        Files.writeString(noTrue.resolve("mc_task.json"), "[{\"question\":\"Q1?\",\"mc1_targets\":{\"a\":1},\"mc2_targets\":{\"a\":1}},"
                + "{\"question\":\"Q2?\",\"mc1_targets\":{\"a\":0,\"b\":0},\"mc2_targets\":{\"a\":1}}]");
        CliTest.Run r = eval(dir.resolve("o1"), noTrue);
        assertEquals(2, r.code());
        assertTrue(r.err().strip().matches("error: .*mc_task.json: question 1 field 'mc1_targets' has no true answer first.*"), r.err());

        Path badJson = dir.resolve("bad-json");
        Files.createDirectories(badJson);
        Files.writeString(badJson.resolve("mc_task.json"), "[{\"question\": ");
        r = eval(dir.resolve("o2"), badJson);
        assertEquals(2, r.code());
        assertTrue(r.err().contains("mc_task.json: not valid JSON"), r.err());

        Path badCsv = dir.resolve("bad-csv");
        Files.createDirectories(badCsv);
        Files.writeString(badCsv.resolve("TruthfulQA.csv"), "Type,Question,Best Answer\nA,Q?,B\n");
        r = eval(dir.resolve("o3"), badCsv, "--tasks", "gen");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("TruthfulQA.csv: missing column 'Category'"), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
    }
}
