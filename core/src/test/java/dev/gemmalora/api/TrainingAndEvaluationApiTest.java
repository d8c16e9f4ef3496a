package dev.gemmalora.api;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gemmalora.GoldenPaths;
import dev.gemmalora.GoldenTokenizerTest;
import dev.gemmalora.cli.Main;
import dev.gemmalora.io.InputException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Training and evaluation through the Java API: the CLI's options and files, no picocli in between. */
class TrainingAndEvaluationApiTest {
    private static TrainOptions options(Path out) {
        TrainOptions o = new TrainOptions();
        o.model = GoldenPaths.mc().resolve("model");
        o.tokenizer = GoldenPaths.tokenizer();
        o.data = GoldenPaths.shared().resolve("data/instructions/gsm8k_train.alpaca.json");
        o.output = out;
        o.maxSamples = 24;
        o.maxLength = 96;
        o.batchSize = 2;
        o.gradAccum = 2;
        o.maxSteps = 4;
        o.loggingSteps = 1;
        return o;
    }

    /** The API's run, stopped after two steps and resumed, ends with the CLI's adapter bytes. */
    @Test
    void trainingGivesTheCliAdapterAndStopsAndResumes(@TempDir Path dir) throws Exception {
        Path cli = dir.resolve("cli");
        assertEquals(0, Main.run("train", "--model", GoldenPaths.mc().resolve("model").toString(), "--tokenizer",
                GoldenPaths.tokenizer().toString(), "--data", GoldenPaths.shared().resolve("data/instructions/gsm8k_train.alpaca.json").toString(),
                "--output", cli.toString(), "--max-samples", "24", "--max-length", "96", "--batch-size", "2", "--grad-accum", "2",
                "--max-steps", "4", "--logging-steps", "1"));

        List<TrainProgress> steps = new ArrayList<>();
        TrainResult stopped = Training.run(options(dir.resolve("api")), new TrainListener() {
            @Override
            public void onStep(TrainProgress p) {
                steps.add(p);
            }

            @Override
            public boolean stopRequested() {
                return steps.size() == 2;
            }
        }, Training.LOCAL);
        assertTrue(stopped.stopped());
        assertNull(stopped.adapter());
        assertEquals(2, stopped.step());
        assertEquals(dir.resolve("api/checkpoint-2"), stopped.checkpoint());
        assertEquals(4, steps.get(0).totalSteps());
        assertTrue(steps.get(1).loss() > 0 && steps.get(1).tokensPerSecond() > 0);

        TrainOptions resume = options(dir.resolve("api"));
        resume.resume = true;
        TrainResult done = Training.run(resume);
        assertEquals(4, done.step());
        assertArrayEquals(Files.readAllBytes(cli.resolve("final/adapter_model.safetensors")),
                Files.readAllBytes(done.adapter().resolve("adapter_model.safetensors")));
        assertEquals(Files.readAllLines(cli.resolve("metrics.jsonl")).size(), Files.readAllLines(done.metrics()).size());

        TrainOptions bad = options(dir.resolve("bad"));
        bad.format = "markdown";
        assertTrue(assertThrows(InputException.class, () -> Training.run(bad)).getMessage().contains("--format is 'markdown'"));
    }

    /** The API's evaluation scores lm-eval's log-likelihoods (golden rows) and returns the summaries' metrics. */
    @Test
    void evaluationMatchesGoldenRowsAndReturnsTheMetrics(@TempDir Path dir) throws Exception {
        EvalOptions o = new EvalOptions();
        o.model = GoldenPaths.mc().resolve("model");
        o.tokenizer = GoldenPaths.tokenizer();
        o.adapters.add(GoldenPaths.mc().resolve("adapter"));
        o.data = GoldenPaths.shared().resolve("data/truthfulqa");
        o.output = dir.resolve("eval");
        o.limit = 5;
        EvalResult r = Evaluation.run(o);
        assertEquals(List.of("base", "adapter"), r.models());
        for (String model : r.models()) {
            List<JsonNode> golden = GoldenTokenizerTest.lines(GoldenPaths.mc().resolve("truthfulqa_mc_" + model + ".jsonl")).subList(0, 5);
            double mc1 = golden.stream().mapToDouble(g -> g.get("mc1").asDouble()).average().orElseThrow();
            double mc2 = golden.stream().mapToDouble(g -> g.get("mc2").asDouble()).average().orElseThrow();
            assertEquals(mc1, r.metrics().get(model).get("mc1"), 1e-9, model);
            assertEquals(mc2, r.metrics().get(model).get("mc2"), 1e-4, model);
        }
        assertTrue(Files.readString(r.reportMd()).contains("| mc2 |"));
    }
}
