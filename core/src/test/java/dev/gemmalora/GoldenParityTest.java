package dev.gemmalora;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gemmalora.io.CheckpointTensors;
import dev.gemmalora.io.Json;
import dev.gemmalora.lora.LoraAdapter;
import dev.gemmalora.lora.LoraMerge;
import dev.gemmalora.lora.LoraPair;
import dev.gemmalora.model.Backprop;
import dev.gemmalora.model.CrossEntropy;
import dev.gemmalora.train.AdamW;
import dev.gemmalora.train.Batches;
import dev.gemmalora.train.GradientSum;
import dev.gemmalora.train.LocalGradients;
import dev.gemmalora.train.TrainConfig;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import dev.gemmalora.io.SafeTensorsFile;
import dev.gemmalora.io.TensorData;
import dev.gemmalora.model.GemmaModel;
import dev.gemmalora.model.KvCache;
import dev.gemmalora.model.TokenTree;
import dev.gemmalora.eval.Generator;
import dev.gemmalora.eval.TruthfulQaData;
import dev.gemmalora.eval.TruthfulQaEval;
import dev.gemmalora.eval.TruthfulQaPrompt;
import dev.gemmalora.tokenizer.HfTokenizer;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Every check against reference outputs of transformers + peft. Inputs come from system
 * properties (golden.dir, golden.mc.dir, golden.tokenizer) so the same checks run on any fixture
 * of the same layout.
 */
class GoldenParityTest {
    /** The tests that read golden.mc.dir (real vocabulary) instead of golden.dir: core/pom.xml runs them per vocabulary. */
    static final String MC_FIXTURE = "mc-fixture";

    static Path t1;
    static GemmaModel model;
    static Batch batch;
    /** Shared by every training test, so they also check that reused activation arrays leave nothing behind. */
    static Backprop backprop;

    record Batch(int[][] ids, int[][] mask, int[][] labels) {
        static Batch read(Path file) {
            JsonNode j = Json.read(file);
            return new Batch(ints(j.get("input_ids")), ints(j.get("attention_mask")), ints(j.get("labels")));
        }
    }

    static int[][] ints(JsonNode rows) {
        int[][] out = new int[rows.size()][];
        for (int b = 0; b < rows.size(); b++) {
            out[b] = new int[rows.get(b).size()];
            for (int i = 0; i < out[b].length; i++) {
                out[b][i] = rows.get(b).get(i).asInt();
            }
        }
        return out;
    }

    @BeforeAll
    static void load() {
        t1 = GoldenPaths.t1();
        model = GemmaModel.load(t1.resolve("model"));
        batch = Batch.read(t1.resolve("batch.json"));
        backprop = new Backprop(model);
    }

    static double maxAbsDiff(float[] a, float[] b) {
        assertEquals(b.length, a.length, "length");
        double m = 0;
        for (int i = 0; i < a.length; i++) {
            m = Math.max(m, Math.abs((double) a[i] - b[i]));
        }
        return m;
    }

    static JsonNode results() {
        return Json.read(t1.resolve("results.json"));
    }

    static float[] forwardAll(GemmaModel m) {
        return logitsOf(m, batch);
    }

    /** The logits at every position of a batch (padding included), as the fixtures store them. */
    static float[] logitsOf(GemmaModel m, Batch batch) {
        int b = batch.ids().length;
        int len = batch.ids()[0].length;
        float[] hidden = m.forward(batch.ids(), batch.mask(), KvCache.forModel(m.config(), b, len), null);
        int[] rows = new int[b * len];
        for (int i = 0; i < rows.length; i++) {
            rows[i] = i;
        }
        return m.logits(hidden, rows);
    }

    static void assertRelative(double want, double got, double tol, String what) {
        double rel = Math.abs(got - want) / Math.max(1e-30, Math.abs(want));
        assertTrue(rel <= tol, what + ": want " + want + " got " + got + " (relative " + rel + ")");
    }

    @Test
    void baseLossMatches() {
        KvCache cache = KvCache.forModel(model.config(), batch.ids().length, batch.ids()[0].length);
        float[] hidden = model.forward(batch.ids(), batch.mask(), cache, null);
        assertRelative(results().get("base_loss").asDouble(), CrossEntropy.loss(model, hidden, batch.labels()), 1e-5, "base loss");
    }

    /**
     * The golden padded batch as one chain per row (token i after token i - 1, padding skipped)
     * gives the full forward's hidden states at every real position, with the same bits: the
     * kernels are batch-invariant and a chain sees what the causal mask lets it see.
     */
    @Test
    void treeOfChainsKeepsEveryRealPosition() {
        int b = batch.ids().length;
        int len = batch.ids()[0].length;
        int h = model.config().hidden();
        float[] full = model.forward(batch.ids(), batch.mask(), KvCache.forModel(model.config(), b, len), null);
        int[][] parent = new int[b][len];
        for (int r = 0; r < b; r++) {
            for (int i = 0; i < len; i++) {
                parent[r][i] = batch.mask()[r][i] == 0 ? TokenTree.PAD : i - 1;
            }
        }
        float[] chains = model.forwardTree(batch.ids(), new TokenTree(parent), KvCache.forModel(model.config(), b, len));
        int padded = 0;
        for (int r = 0; r < b; r++) {
            for (int i = 0; i < len; i++) {
                int off = (r * len + i) * h;
                float[] want = batch.mask()[r][i] != 0 ? Arrays.copyOfRange(full, off, off + h) : new float[h];
                padded += batch.mask()[r][i] == 0 ? 1 : 0;
                assertArrayEquals(want, Arrays.copyOfRange(chains, off, off + h), "row " + r + " position " + i);
            }
        }
        assertTrue(padded > 0, "the golden batch has padding");
    }

    /**
     * The three golden sequences as branches of one tree after a shared first token, on the
     * golden model whose sliding window (5) is shorter than the branches: each node's hidden state
     * equals the plain forward of its own path (window and positions follow the path, not the
     * row's order).
     */
    @Test
    void treeBranchesEqualTheirOwnSequences() {
        int h = model.config().hidden();
        int[][] ids = batch.ids();
        int[][] mask = batch.mask();
        int root = ids[0][0];
        List<Integer> tokens = new ArrayList<>(List.of(root));
        List<Integer> parents = new ArrayList<>(List.of(TokenTree.ROOT));
        List<int[]> paths = new ArrayList<>();
        for (int r = 0; r < ids.length; r++) {
            int prev = 0;
            for (int i = 1; i < ids[r].length && mask[r][i] != 0; i++) {
                tokens.add(ids[r][i]);
                parents.add(prev);
                prev = tokens.size() - 1;
                paths.add(new int[] {r, i, prev});
            }
        }
        int n = tokens.size();
        float[] tree = model.forwardTree(new int[][] {tokens.stream().mapToInt(Integer::intValue).toArray()},
                new TokenTree(new int[][] {parents.stream().mapToInt(Integer::intValue).toArray()}), KvCache.forModel(model.config(), 1, n));
        for (int[] p : paths) {
            int[] seq = Arrays.copyOf(ids[p[0]], p[1] + 1);
            seq[0] = root;
            float[] alone = model.forward(new int[][] {seq}, null, KvCache.forModel(model.config(), 1, seq.length), null);
            float[] want = Arrays.copyOfRange(alone, p[1] * h, (p[1] + 1) * h);
            float[] got = Arrays.copyOfRange(tree, p[2] * h, (p[2] + 1) * h);
            assertTrue(maxAbsDiff(got, want) <= 1e-5, "sequence " + p[0] + " position " + p[1] + ": |diff| " + maxAbsDiff(got, want));
        }
        assertTrue(paths.size() > 2 * model.config().slidingWindow(), "the branches are longer than the sliding window");
    }

    @Test
    void loraUnmergedMatchesLogitsAndLoss() {
        LoraAdapter adapter = LoraAdapter.load(t1.resolve("adapter"), model);
        adapter.attach(model);
        try {
            float[] logits = forwardAll(model);
            float[] want = SafeTensorsFile.open(t1.resolve("lora_outputs.safetensors")).get("logits").toFloats();
            double d = maxAbsDiff(logits, want);
            assertTrue(d <= 1e-4, "lora logits max |diff| " + d);
            float[] hidden = model.forward(batch.ids(), batch.mask(), KvCache.forModel(model.config(), batch.ids().length,
                    batch.ids()[0].length), null);
            assertRelative(results().get("lora_loss").asDouble(), CrossEntropy.loss(model, hidden, batch.labels()), 1e-5, "lora loss");
        } finally {
            LoraAdapter.detach(model);
        }
    }

    @Test
    void mergedAdapterGivesTheSameLogits() {
        Path dir = t1.resolve("model");
        LoraAdapter adapter = LoraAdapter.load(t1.resolve("adapter"), model);
        GemmaModel merged = GemmaModel.fromTensors(model.config(),
                LoraMerge.merge(CheckpointTensors.open(dir).all(), adapter), "merged");
        adapter.attach(model);
        try {
            double d = maxAbsDiff(forwardAll(merged), forwardAll(model));
            assertTrue(d <= 1e-4, "merged vs adapter max |diff| " + d);
        } finally {
            LoraAdapter.detach(model);
        }
    }

    /** `merge` through the CLI, forced to shard: the checkpoint it writes gives the PEFT model's logits. */
    @Test
    void mergeCommandWritesAShardedCheckpointWithTheAdapterLogits(@org.junit.jupiter.api.io.TempDir Path tmp) {
        // A shard limit of a third of the fixture's weights (at least its largest tensor) gives several shards for any fixture.
        Map<String, TensorData> base = CheckpointTensors.open(t1.resolve("model")).all();
        long total = base.values().stream().mapToLong(t -> t.data().byteSize()).sum();
        long limit = Math.max(total / 3, base.values().stream().mapToLong(t -> t.data().byteSize()).max().orElse(1));
        Path out = tmp.resolve("merged");
        int code = dev.gemmalora.cli.Main.run("merge", "--model", t1.resolve("model").toString(),
                "--adapter", t1.resolve("adapter").toString(), "--output", out.toString(), "--max-shard-size", limit + "B");
        assertEquals(0, code);
        assertTrue(java.nio.file.Files.isRegularFile(out.resolve("config.json")));
        JsonNode weightMap = Json.read(out.resolve(CheckpointTensors.INDEX)).get("weight_map");
        java.util.SortedSet<String> tensors = new java.util.TreeSet<>();
        java.util.SortedSet<String> shards = new java.util.TreeSet<>();
        weightMap.fields().forEachRemaining(e -> {
            tensors.add(e.getKey());
            shards.add(e.getValue().asText());
        });
        assertEquals(new java.util.TreeSet<>(base.keySet()), tensors, "every tensor of the model in the index");
        int n = shards.size();
        assertTrue(n >= 2 && n >= Math.ceil(total / (double) limit), n + " shards for " + total + " bytes at most " + limit + " each");
        int i = 1;
        for (String shard : shards) {
            assertEquals(String.format("model-%05d-of-%05d.safetensors", i++, n), shard);
            Map<String, TensorData> held = SafeTensorsFile.open(out.resolve(shard)).tensors();
            long bytes = held.values().stream().mapToLong(t -> t.data().byteSize()).sum();
            assertTrue(bytes <= limit || held.size() == 1, shard + " holds " + bytes + " bytes, over the limit of " + limit);
        }
        GemmaModel merged = GemmaModel.load(out);
        float[] want = SafeTensorsFile.open(t1.resolve("lora_outputs.safetensors")).get("logits").toFloats();
        double d = maxAbsDiff(forwardAll(merged), want);
        assertTrue(d <= 1e-4, "merged checkpoint logits max |diff| " + d);
        assertEquals(2, dev.gemmalora.cli.Main.run("merge", "--model", t1.resolve("model").toString(),
                "--adapter", t1.resolve("adapter").toString(), "--output", out.toString()));
    }

    @Test
    @Tag(MC_FIXTURE)
    void truthfulQaLogLikelihoodsMatchBase() throws IOException {
        checkMc("truthfulqa_mc_base", null);
    }

    @Test
    @Tag(MC_FIXTURE)
    void truthfulQaLogLikelihoodsMatchAdapter() throws IOException {
        checkMc("truthfulqa_mc_adapter", "adapter");
    }

    /**
     * The product's TruthfulQA path (data files, lm-eval's prompt and pair encoding, scoring) on
     * ../shared/data/truthfulqa: every request's token ids, per-choice log-likelihood and greedy flag
     * of the golden file, then the MC1/MC2 means.
     */
    static void checkMc(String name, String adapterDir) throws IOException {
        Path dir = GoldenPaths.mc();
        GemmaModel m = GemmaModel.load(dir.resolve("model"));
        if (adapterDir != null) {
            LoraAdapter.load(dir.resolve(adapterDir), m).attach(m);
        }
        List<JsonNode> rows = GoldenTokenizerTest.lines(dir.resolve(name + ".jsonl"));
        TruthfulQaData.Dataset data = TruthfulQaData.load(GoldenPaths.shared().resolve("data/truthfulqa"));
        double mc1 = 0;
        double mc2 = 0;
        double worst = 0;
        try (HfTokenizer tok = HfTokenizer.load(GoldenPaths.tokenizer())) {
            TruthfulQaPrompt prompt = new TruthfulQaPrompt(tok, false);
            // Three questions per batch, so rows of different questions share the GEMMs.
            TruthfulQaEval eval = new TruthfulQaEval(m, tok, java.util.Set.of("mc1", "mc2"), false, 3);
            List<TruthfulQaData.Question> questions = rows.stream().map(r -> data.questions().get(r.get("i").asInt())).toList();
            List<ObjectNode> scored = eval.evaluate(questions);
            for (int r = 0; r < rows.size(); r++) {
                JsonNode want = rows.get(r);
                TruthfulQaData.Question q = questions.get(r);
                assertEquals(want.get("question").asText(), q.question());
                String context = prompt.mcContext(q.question());
                ObjectNode got = scored.get(r);
                for (String task : List.of("mc1_targets", "mc2_targets")) {
                    List<String> choices = (task.equals("mc1_targets") ? q.mc1() : q.mc2()).choices();
                    for (int c = 0; c < choices.size(); c++) {
                        String where = "row " + want.get("i") + " " + task + " choice " + c;
                        TruthfulQaPrompt.Pair pair = prompt.encodePair(context, " " + choices.get(c));
                        assertArrayEquals(GoldenTokenizerTest.ints(want.get("context_ids")), pair.context(), where);
                        assertArrayEquals(GoldenTokenizerTest.ints(want.get(task).get("continuation_ids").get(c)), pair.continuation(), where);
                        double d = Math.abs(got.get(task).get("loglik").get(c).asDouble() - want.get(task).get("loglik").get(c).asDouble());
                        worst = Math.max(worst, d);
                        assertTrue(d <= 1e-3, where + " |diff| " + d);
                        assertEquals(want.get(task).get("is_greedy").get(c).asBoolean(), got.get(task).get("is_greedy").get(c).asBoolean(),
                                where + " is_greedy");
                    }
                }
                assertEquals(want.get("mc1").asDouble(), got.get("mc1").asDouble(), 1e-9, "row " + want.get("i") + " mc1");
                assertEquals(want.get("mc2").asDouble(), got.get("mc2").asDouble(), 1e-3, "row " + want.get("i") + " mc2");
                mc1 += got.get("mc1").asDouble();
                mc2 += got.get("mc2").asDouble();
            }
        }
        JsonNode summary = Json.read(dir.resolve(name + "_summary.json"));
        assertEquals(summary.get("n").asInt(), rows.size());
        assertEquals(summary.get("mc1").asDouble(), mc1 / rows.size(), 1e-4, "mc1 (worst choice |diff| " + worst + ")");
        assertEquals(summary.get("mc2").asDouble(), mc2 / rows.size(), 1e-4, "mc2");
    }

    /** ||got - want|| <= tol ||want|| for one named tensor. */
    static void assertRelativeNorm(float[] want, float[] got, double tol, String what) {
        double num = 0;
        double den = 0;
        for (int i = 0; i < want.length; i++) {
            num += Math.pow((double) got[i] - want[i], 2);
            den += (double) want[i] * want[i];
        }
        double rel = Math.sqrt(num) / Math.max(1e-30, Math.sqrt(den));
        assertTrue(rel <= tol, what + ": relative error " + rel);
    }

    static LoraAdapter trainableAdapter() {
        LoraAdapter adapter = LoraAdapter.load(t1.resolve("adapter"), model);
        adapter.attach(model);
        return adapter;
    }

    static Backprop.Loss backward(boolean checkpoint) {
        int targets = CrossEntropy.targets(batch.labels())[0].length;
        return backprop.lossAndGrad(batch.ids(), batch.mask(), batch.labels(), 1.0 / targets, checkpoint, 1);
    }

    /**
     * Checkpointing keeps each layer's input, queries and o and down outputs and replays the rest
     * in backward: with dropout on, the replay must redraw the same masks, so every gradient equals
     * the full tape's bit for bit.
     */
    @Test
    void checkpointedGradientsEqualTheFullTapesWithDropout() {
        LoraAdapter adapter = trainableAdapter();
        try {
            adapter.pairs().values().forEach(p -> p.setDropout(0.25));
            adapter.zeroGrad();
            double full = backward(false).sum();
            List<float[]> want = adapter.gradients().stream().map(float[]::clone).toList();
            adapter.zeroGrad();
            assertEquals(full, backward(true).sum());
            List<float[]> got = adapter.gradients();
            for (int i = 0; i < want.size(); i++) {
                assertTrue(Arrays.equals(want.get(i), got.get(i)), "gradient tensor " + i + " differs under checkpointing");
            }
        } finally {
            adapter.pairs().values().forEach(p -> p.setDropout(0));
            LoraAdapter.detach(model);
        }
    }

    @ParameterizedTest(name = "gradient checkpointing {0}")
    @ValueSource(booleans = {false, true})
    void everyLoraGradientAndTheGlobalNormMatch(boolean checkpoint) {
        LoraAdapter adapter = trainableAdapter();
        try {
            Backprop.Loss loss = backward(checkpoint);
            assertRelative(results().get("lora_loss").asDouble(), loss.mean(), 1e-5, "lora loss");
            SafeTensorsFile want = SafeTensorsFile.open(t1.resolve("lora_grads.safetensors"));
            assertEquals(2 * adapter.pairs().size(), want.tensors().size());
            for (LoraPair p : adapter.pairs().values()) {
                assertRelativeNorm(want.get(LoraAdapter.tensorName(p.module(), 'A')).toFloats(), p.gradA(), 1e-4, p.module() + " A");
                assertRelativeNorm(want.get(LoraAdapter.tensorName(p.module(), 'B')).toFloats(), p.gradB(), 1e-4, p.module() + " B");
            }
            assertRelative(results().get("lora_grad_global_norm").asDouble(), adapter.gradNorm(), 1e-4, "global grad norm");
        } finally {
            LoraAdapter.detach(model);
        }
    }

    /**
     * train's own path: the batch's rows as three micro-batches of one, each computed by the
     * runner train and every Spark executor use, summed in micro-batch order, with the loss scaled
     * by the whole window's label tokens. The sum is the gradient of the whole batch.
     */
    @ParameterizedTest(name = "gradient checkpointing {0}")
    @ValueSource(booleans = {false, true})
    void microBatchesSummedInOrderGiveTheBatchGradients(boolean checkpoint) {
        LoraAdapter adapter = LoraAdapter.load(t1.resolve("adapter"), model);
        try {
            TrainConfig recipe = TrainConfig.recipe();
            TrainConfig cfg = new TrainConfig(1, 1, 1, batch.ids().length, 1e-4, 0, 0, 1, 0, 42, checkpoint, recipe.beta1(),
                    recipe.beta2(), recipe.eps(), 0);
            List<Batches.Batch> window = new ArrayList<>();
            for (int b = 0; b < batch.ids().length; b++) {
                window.add(new Batches.Batch(new int[][] {batch.ids()[b]}, new int[][] {batch.mask()[b]}, new int[][] {batch.labels()[b]}));
            }
            int targets = CrossEntropy.targets(batch.labels())[0].length;
            GradientSum sum = new LocalGradients(model, adapter, cfg).compute(0, window, 1.0 / targets);
            assertEquals(window.size(), sum.count());
            assertRelative(results().get("lora_loss").asDouble(), sum.lossSum() / targets, 1e-5, "lora loss");
            SafeTensorsFile want = SafeTensorsFile.open(t1.resolve("lora_grads.safetensors"));
            int i = 0;
            for (LoraPair p : adapter.pairs().values()) {
                assertRelativeNorm(want.get(LoraAdapter.tensorName(p.module(), 'A')).toFloats(), sum.grads()[i++], 1e-4, p.module() + " A");
                assertRelativeNorm(want.get(LoraAdapter.tensorName(p.module(), 'B')).toFloats(), sum.grads()[i++], 1e-4, p.module() + " B");
            }
            assertRelative(results().get("lora_grad_global_norm").asDouble(), sum.norm(), 1e-4, "global grad norm");
        } finally {
            LoraAdapter.detach(model);
        }
    }

    @Test
    void threeAdamWStepsMatchTorch() {
        LoraAdapter adapter = trainableAdapter();
        try {
            JsonNode cfg = results().get("adamw");
            AdamW opt = new AdamW(adapter.parameters(), cfg.get("betas").get(0).asDouble(), cfg.get("betas").get(1).asDouble(),
                    cfg.get("eps").asDouble(), cfg.get("weight_decay").asDouble());
            for (int step = 0; step < cfg.get("steps").asInt(); step++) {
                adapter.zeroGrad();
                Backprop.Loss loss = backward(false);
                assertRelative(cfg.get("loss_before_each_step").get(step).asDouble(), loss.mean(), 1e-5, "loss before step " + step);
                opt.update(adapter.gradients(), cfg.get("lr").asDouble());
            }
            SafeTensorsFile want = SafeTensorsFile.open(t1.resolve("lora_after_3_adamw_steps.safetensors"));
            for (LoraPair p : adapter.pairs().values()) {
                assertRelativeNorm(want.get(LoraAdapter.tensorName(p.module(), 'A')).toFloats(), p.a(), 1e-4, p.module() + " A");
                assertRelativeNorm(want.get(LoraAdapter.tensorName(p.module(), 'B')).toFloats(), p.b(), 1e-4, p.module() + " B");
            }
        } finally {
            LoraAdapter.detach(model);
        }
    }

    @Test
    void kvCacheDecodingEqualsFullForwardAtEveryStep() {
        LoraAdapter.load(t1.resolve("adapter"), model).attach(model);
        try {
            int[] seq = batch.ids()[0];
            int vocab = model.config().vocabSize();
            float[] full = forwardAll(model);
            KvCache cache = KvCache.forModel(model.config(), 1, 2);
            double worst = 0;
            for (int i = 0; i < seq.length; i++) {
                float[] h = model.forward(new int[][] {{seq[i]}}, null, cache, null);
                float[] step = model.logits(h, new int[] {0});
                for (int v = 0; v < vocab; v++) {
                    worst = Math.max(worst, Math.abs(step[v] - full[i * vocab + v]));
                }
            }
            assertTrue(seq.length > model.config().slidingWindow(), "the sequence must outrun the sliding window");
            assertTrue(worst <= 1e-4, "decode vs full forward max |diff| " + worst);
        } finally {
            LoraAdapter.detach(model);
        }
    }

    /** Golden greedy ids must be reproduced up to the first step whose top1-top2 margin is a near tie. */
    static void assertGreedy(GemmaModel m, int[] prompt, JsonNode wantNew, JsonNode margins, String what) {
        List<Integer> got = new Generator(m).generate(prompt, wantNew.size(), java.util.Set.of(), Generator.GREEDY, null);
        for (int i = 0; i < wantNew.size(); i++) {
            if (margins.get(i).asDouble() < 1e-4) {
                return;
            }
            assertEquals(wantNew.get(i).asInt(), got.get(i), what + " step " + i);
        }
    }

    @Test
    void greedyGenerationReproducesT1() {
        JsonNode g = results().get("greedy");
        LoraAdapter.load(t1.resolve("adapter"), model).attach(model);
        try {
            int[] prompt = GoldenTokenizerTest.ints(g.get("prompt"));
            JsonNode ids = g.get("ids");
            var wantNew = Json.MAPPER.createArrayNode();
            for (int i = prompt.length; i < ids.size(); i++) {
                wantNew.add(ids.get(i));
            }
            assertGreedy(model, prompt, wantNew, g.get("top1_top2_margin"), "t1 greedy");
        } finally {
            LoraAdapter.detach(model);
        }
    }

    @Test
    @Tag(MC_FIXTURE)
    void greedyChatGenerationReproducesT3Adapter() {
        Path dir = GoldenPaths.mc();
        GemmaModel m = GemmaModel.load(dir.resolve("model"));
        LoraAdapter.load(dir.resolve("adapter"), m).attach(m);
        JsonNode cases = Json.read(dir.resolve("chat_greedy_adapter.json"));
        assertTrue(cases.size() > 0);
        for (JsonNode c : cases) {
            assertGreedy(m, GoldenTokenizerTest.ints(c.get("prompt_ids")), c.get("new_ids"), c.get("top1_top2_margin"),
                    c.get("question").asText());
        }
    }

    @Test
    void baseForwardMatchesLogitsAndEveryHiddenState() {
        SafeTensorsFile ref = SafeTensorsFile.open(t1.resolve("base_outputs.safetensors"));
        Map<Integer, float[]> states = new HashMap<>();
        int b = batch.ids().length;
        int len = batch.ids()[0].length;
        KvCache cache = KvCache.forModel(model.config(), b, len);
        float[] hidden = model.forward(batch.ids(), batch.mask(), cache, (i, s) -> states.put(i, s.clone()));
        // Fixtures of a whole multimodal model keep its logits only.
        for (int i = 0; i <= model.config().layers() && ref.tensors().containsKey("hidden_states." + i); i++) {
            TensorData want = ref.get("hidden_states." + i);
            double d = maxAbsDiff(states.get(i), want.toFloats());
            assertTrue(d <= 1e-4, "hidden_states." + i + " max |diff| " + d);
        }
        int[] rows = new int[b * len];
        for (int i = 0; i < rows.length; i++) {
            rows[i] = i;
        }
        float[] logits = model.logits(hidden, rows);
        double d = maxAbsDiff(logits, ref.get("logits").toFloats());
        assertTrue(d <= 1e-4, "logits max |diff| " + d);
    }
}
