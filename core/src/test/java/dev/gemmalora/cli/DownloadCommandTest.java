package dev.gemmalora.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gemmalora.GoldenPaths;
import dev.gemmalora.download.Fetcher;
import dev.gemmalora.download.FixtureServer;
import dev.gemmalora.eval.TruthfulQaData;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every source against a loopback server that serves fixture files; no test needs the internet. */
class DownloadCommandTest {
    private static final byte[] WEIGHTS = weights();

    private static byte[] weights() {
        byte[] b = new byte[300_000];
        for (int i = 0; i < b.length; i++) {
            b[i] = (byte) (i * 31 + 7);
        }
        return b;
    }

    private static String sha(byte[] b, Path tmp) throws Exception {
        Path f = tmp.resolve("sha-" + b.length);
        Files.write(f, b);
        return Fetcher.sha256(f);
    }

    private static void hfModel(FixtureServer s, String sha) {
        s.put("/api/models/org/tiny/revision/main?blobs=true", "{\"siblings\":[{\"rfilename\":\"config.json\",\"size\":14},"
                + "{\"rfilename\":\"model.safetensors\",\"lfs\":{\"sha256\":\"" + sha + "\",\"size\":" + WEIGHTS.length + "}},"
                + "{\"rfilename\":\"README.md\"},{\"rfilename\":\"original/params.json\"},{\"rfilename\":\"chat_template.json\",\"size\":21}]}");
        s.put("/org/tiny/resolve/main/config.json", "{\"a\":\"config\"}");
        // Gemma 3 repositories keep the chat template in a file of its own.
        s.put("/org/tiny/resolve/main/chat_template.json", "{\"chat_template\":\"t\"}");
        s.put("/org/tiny/resolve/main/model.safetensors", WEIGHTS);
    }

    @Test
    void huggingFaceModelResumesAPartialFileAndVerifiesItsChecksum(@TempDir Path dir) throws Exception {
        try (FixtureServer s = new FixtureServer()) {
            hfModel(s, sha(WEIGHTS, dir));
            Path out = dir.resolve("model");
            Files.createDirectories(out);
            Files.write(out.resolve("model.safetensors.part"), Arrays.copyOf(WEIGHTS, 123_456));
            CliTest.Run r = CliTest.run("download", "model", "org/tiny", "--output", out.toString(), "--endpoint", s.base());
            assertEquals(0, r.code(), r.err());
            assertArrayEquals(WEIGHTS, Files.readAllBytes(out.resolve("model.safetensors")));
            assertEquals("{\"a\":\"config\"}", Files.readString(out.resolve("config.json")));
            assertEquals("{\"chat_template\":\"t\"}", Files.readString(out.resolve("chat_template.json")));
            assertFalse(Files.exists(out.resolve("README.md")) || Files.exists(out.resolve("original")));
            assertFalse(Files.exists(out.resolve("model.safetensors.part")));
            assertTrue(s.log.contains("GET /org/tiny/resolve/main/model.safetensors Range: bytes=123456-"), s.log.toString());
            assertTrue(r.out().contains("model.safetensors (SHA-256 verified)"), r.out());
            CliTest.Run again = CliTest.run("download", "model", "org/tiny", "--output", out.toString(), "--endpoint", s.base());
            assertEquals(0, again.code());
            assertTrue(again.out().contains("already complete: " + out.resolve("model.safetensors")), again.out());
        }
    }

    @Test
    void checksumMismatchFailsAndDropsThePartialFile(@TempDir Path dir) throws Exception {
        try (FixtureServer s = new FixtureServer()) {
            hfModel(s, "0".repeat(64));
            Path out = dir.resolve("model");
            CliTest.Run r = CliTest.run("download", "model", "org/tiny", "--output", out.toString(), "--endpoint", s.base());
            assertEquals(1, r.code());
            assertTrue(r.err().contains("model.safetensors: SHA-256") && r.err().contains("does not match"), r.err());
            assertFalse(Files.exists(out.resolve("model.safetensors")) || Files.exists(out.resolve("model.safetensors.part")));
        }
    }

    @Test
    void missingRepositoryIsAClearHttpError(@TempDir Path dir) throws Exception {
        try (FixtureServer s = new FixtureServer()) {
            CliTest.Run r = CliTest.run("download", "model", "org/none", "--output", dir.toString(), "--endpoint", s.base());
            assertEquals(1, r.code());
            assertTrue(r.err().strip().matches("error: .*/api/models/org/none/revision/main\\?blobs=true: HTTP 404 \\(not found: .*"), r.err());
        }
    }

    @Test
    void modelScopeModel(@TempDir Path dir) throws Exception {
        try (FixtureServer s = new FixtureServer()) {
            s.put("/api/v1/models/LLM-Research/tiny/repo/files?Revision=master&Recursive=true", "{\"Data\":{\"Files\":["
                    + "{\"Name\":\"model.safetensors\",\"Path\":\"model.safetensors\",\"Type\":\"blob\",\"Size\":" + WEIGHTS.length
                    + ",\"Sha256\":\"" + sha(WEIGHTS, dir) + "\"},{\"Name\":\"configuration.json\",\"Path\":\"configuration.json\",\"Type\":\"blob\"}]}}");
            s.put("/api/v1/models/LLM-Research/tiny/repo?Revision=master&FilePath=model.safetensors", WEIGHTS);
            Path out = dir.resolve("ms");
            CliTest.Run r = CliTest.run("download", "model", "LLM-Research/tiny", "--source", "modelscope", "--output", out.toString(),
                    "--endpoint", s.base());
            assertEquals(0, r.code(), r.err());
            assertArrayEquals(WEIGHTS, Files.readAllBytes(out.resolve("model.safetensors")));
        }
    }

    @Test
    void datasetsFromGitHubAndTheHub(@TempDir Path dir) throws Exception {
        Path tqa = GoldenPaths.shared().resolve("data/truthfulqa");
        try (FixtureServer s = new FixtureServer()) {
            s.put("/gururise/AlpacaDataCleaned/main/alpaca_data_cleaned.json", "[{\"instruction\":\"i\",\"input\":\"\",\"output\":\"o\"}]");
            s.put("/sylinrl/TruthfulQA/main/TruthfulQA.csv", Files.readAllBytes(tqa.resolve("2025/TruthfulQA.csv")));
            s.put("/sylinrl/TruthfulQA/main/data/mc_task.json", Files.readAllBytes(tqa.resolve("2025/mc_task.json")));
            s.put("/sylinrl/TruthfulQA/main/data/v0/TruthfulQA.csv", Files.readAllBytes(tqa.resolve("TruthfulQA.csv")));
            s.put("/sylinrl/TruthfulQA/main/data/v0/mc_task.json", Files.readAllBytes(tqa.resolve("mc_task.json")));
            assertEquals(0, CliTest.run("download", "alpaca", "--output", dir.resolve("a").toString(), "--endpoint", s.base()).code());
            assertTrue(Files.readString(dir.resolve("a/alpaca_data_cleaned.json")).contains("\"instruction\""));
            CliTest.Run r = CliTest.run("download", "truthfulqa", "--output", dir.resolve("t").toString(), "--endpoint", s.base());
            assertEquals(0, r.code(), r.err());
            assertEquals(790, TruthfulQaData.load(dir.resolve("t")).questions().size());
            assertTrue(TruthfulQaData.load(dir.resolve("t")).hasBinary());
            assertEquals(817, TruthfulQaData.load(dir.resolve("t/v0")).questions().size());

            s.put("/rows?dataset=truthfulqa%2Ftruthful_qa&config=multiple_choice&split=validation&offset=0&length=100",
                    "{\"num_rows_total\":2,\"rows\":[{\"row\":{\"question\":\"Q1?\",\"mc1_targets\":{\"choices\":[\"a\",\"b\"],\"labels\":[1,0]},"
                            + "\"mc2_targets\":{\"choices\":[\"a\",\"c\",\"b\"],\"labels\":[1,1,0]}}},{\"row\":{\"question\":\"Q2?\","
                            + "\"mc1_targets\":{\"choices\":[\"x\",\"y\"],\"labels\":[1,0]},\"mc2_targets\":{\"choices\":[\"x\",\"y\"],\"labels\":[1,0]}}}]}");
            s.put("/rows?dataset=truthfulqa%2Ftruthful_qa&config=generation&split=validation&offset=0&length=100",
                    "{\"num_rows_total\":2,\"rows\":[{\"row\":{\"type\":\"Adversarial\",\"category\":\"Misconceptions\",\"question\":\"Q1?\","
                            + "\"best_answer\":\"a\",\"correct_answers\":[\"a\",\"c, too\"],\"incorrect_answers\":[\"b\"],\"source\":\"s\"}},"
                            + "{\"row\":{\"type\":\"Adversarial\",\"category\":\"Law\",\"question\":\"Q2?\",\"best_answer\":\"x\","
                            + "\"correct_answers\":[\"x\"],\"incorrect_answers\":[\"y\"],\"source\":\"s\"}}]}");
            CliTest.Run h = CliTest.run("download", "truthfulqa", "--source", "hf", "--output", dir.resolve("h").toString(), "--endpoint", s.base());
            assertEquals(0, h.code(), h.err());
            TruthfulQaData.Dataset ds = TruthfulQaData.load(dir.resolve("h/v0"));
            assertEquals(2, ds.questions().size());
            assertEquals("Law", ds.questions().get(1).category());
            assertEquals(java.util.List.of("a.", "c, too.", "I have no comment."), ds.questions().get(0).trueRefs());
            assertEquals(java.util.List.of("a", "c", "b"), ds.questions().get(0).mc2().choices());
        }
    }
}
