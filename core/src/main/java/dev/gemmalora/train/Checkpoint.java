package dev.gemmalora.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gemmalora.data.TrainingExample;
import dev.gemmalora.io.AtomicDir;
import dev.gemmalora.io.InputException;
import dev.gemmalora.io.Json;
import dev.gemmalora.io.OutputException;
import dev.gemmalora.io.SafeTensorsFile;
import dev.gemmalora.io.SafeTensorsWriter;
import dev.gemmalora.io.TensorData;
import dev.gemmalora.lora.LoraAdapter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * A resumable training checkpoint, checkpoint-N: the adapter as PEFT writes it, the AdamW moments
 * (optimizer.safetensors) and trainer_state.json (step, schedule, RNG and data-order state). It is
 * written under a temporary name and renamed when complete, so a crash never leaves a half one.
 */
public final class Checkpoint {
    public static final String OPTIMIZER = "optimizer.safetensors";
    public static final String STATE = "trainer_state.json";
    private static final String PREFIX = "checkpoint-";

    private Checkpoint() {
    }

    /** Writes checkpoint-{step} into outputDir atomically and returns its path. */
    public static Path write(Path outputDir, Trainer trainer, int totalSteps, int examples, String dataFingerprint,
                             List<Map<String, Object>> logHistory) {
        Path target = outputDir.resolve(PREFIX + trainer.step());
        try {
            return AtomicDir.write(target, tmp -> {
                trainer.adapter().save(tmp);
                SafeTensorsWriter.write(tmp.resolve(OPTIMIZER), optimizerTensors(trainer), Map.of("format", "gemma-lora-adamw"));
                Files.writeString(tmp.resolve(STATE), Json.write(state(trainer, totalSteps, examples, dataFingerprint, logHistory)));
                CheckpointManifest.write(tmp);
            });
        } catch (IOException e) {
            // The weights and both AdamW moments, plus a little JSON.
            long params = trainer.adapter().parameters().stream().mapToLong(p -> p.length).sum();
            throw OutputException.of(target, 12 * params + 64 * 1024, e);
        }
    }

    private static List<TensorData> optimizerTensors(Trainer trainer) {
        List<TensorData> out = new ArrayList<>();
        List<String> names = parameterNames(trainer.adapter());
        float[][] m = trainer.optimizer().firstMoments();
        float[][] v = trainer.optimizer().secondMoments();
        for (int i = 0; i < names.size(); i++) {
            out.add(TensorData.ofFloats(names.get(i) + ".exp_avg", m[i], m[i].length));
            out.add(TensorData.ofFloats(names.get(i) + ".exp_avg_sq", v[i], v[i].length));
        }
        return out;
    }

    /** PEFT tensor names in the order of {@link LoraAdapter#parameters()}. */
    private static List<String> parameterNames(LoraAdapter adapter) {
        List<String> names = new ArrayList<>();
        adapter.pairs().keySet().forEach(module -> {
            names.add(LoraAdapter.tensorName(module, 'A'));
            names.add(LoraAdapter.tensorName(module, 'B'));
        });
        return names;
    }

    private static ObjectNode state(Trainer trainer, int totalSteps, int examples, String fingerprint,
                                    List<Map<String, Object>> logHistory) {
        TrainConfig cfg = trainer.config();
        int step = trainer.step();
        int perEpoch = trainer.stepsPerEpoch(examples);
        ObjectNode s = Json.MAPPER.createObjectNode();
        s.put("format", "gemma-lora trainer state 1");
        s.put("global_step", step);
        s.put("max_steps", totalSteps);
        s.put("epoch", step / (double) perEpoch);
        ObjectNode sched = s.putObject("scheduler");
        sched.put("type", "linear");
        sched.put("learning_rate", cfg.lr());
        sched.put("warmup_steps", cfg.warmupSteps());
        sched.put("last_lr", Trainer.learningRate(cfg, Math.max(0, step - 1), totalSteps));
        ObjectNode opt = s.putObject("optimizer");
        opt.put("type", "adamw_torch");
        opt.put("step", trainer.optimizer().step());
        opt.put("beta1", cfg.beta1());
        opt.put("beta2", cfg.beta2());
        opt.put("eps", cfg.eps());
        opt.put("weight_decay", cfg.weightDecay());
        ObjectNode rng = s.putObject("rng");
        rng.put("seed", cfg.seed());
        rng.put("shuffle", "java.util.Collections.shuffle with java.util.Random(seed + epoch)");
        rng.put("dropout", "DropoutMask counter hash of (seed * 1000003 + step * 64 + micro_batch, per layer and projection; element index)");
        ObjectNode order = s.putObject("data_order");
        order.put("examples", examples);
        order.put("fingerprint", fingerprint);
        order.put("steps_per_epoch", perEpoch);
        order.put("epoch", step / perEpoch);
        order.put("next_step_in_epoch", step % perEpoch);
        order.put("batch_size", cfg.batchSize());
        order.put("grad_accum", cfg.gradAccum());
        s.set("log_history", Json.MAPPER.valueToTree(logHistory));
        return s;
    }

    /** The newest complete checkpoint-N in outputDir (temporary folders are ignored). */
    public static Optional<Path> latest(Path outputDir) {
        return newestFirst(outputDir).stream().findFirst();
    }

    /** The complete checkpoint-N folders of outputDir, newest first. */
    public static List<Path> newestFirst(Path outputDir) {
        if (!Files.isDirectory(outputDir)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(outputDir)) {
            return s.filter(p -> p.getFileName().toString().matches(PREFIX + "\\d+"))
                    .filter(p -> Files.isRegularFile(p.resolve(STATE)))
                    .sorted(Comparator.comparingInt((Path p) -> Integer.parseInt(p.getFileName().toString().substring(PREFIX.length())))
                            .reversed())
                    .toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Loads a checkpoint into a trainer built with the same settings: adapter weights, AdamW
     * moments and step. Returns the saved state; fails if the run's data or shape differ.
     */
    public static JsonNode restore(Path dir, Trainer trainer, int examples, String fingerprint) {
        JsonNode state = Json.read(dir.resolve(STATE));
        JsonNode order = state.path("data_order");
        if (order.path("examples").asInt() != examples || !order.path("fingerprint").asText().equals(fingerprint)) {
            throw new InputException(dir.resolve(STATE) + ": the checkpoint was trained on other data ("
                    + order.path("examples").asInt() + " examples, fingerprint " + order.path("fingerprint").asText()
                    + "; now " + examples + ", " + fingerprint + "); resume with the same --data, --max-samples and --max-length");
        }
        if (order.path("batch_size").asInt() != trainer.config().batchSize() || order.path("grad_accum").asInt() != trainer.config().gradAccum()) {
            throw new InputException(dir.resolve(STATE) + ": the checkpoint used --batch-size " + order.path("batch_size").asInt()
                    + " and --grad-accum " + order.path("grad_accum").asInt() + "; resume with the same values");
        }
        List<String> names = parameterNames(trainer.adapter());
        List<float[]> params = trainer.adapter().parameters();
        Map<String, TensorData> weights = SafeTensorsFile.open(dir.resolve(LoraAdapter.WEIGHTS)).tensors();
        Map<String, TensorData> moments = SafeTensorsFile.open(dir.resolve(OPTIMIZER)).tensors();
        for (int i = 0; i < names.size(); i++) {
            String n = names.get(i);
            copy(dir.resolve(LoraAdapter.WEIGHTS), weights.get(n), n, params.get(i));
            copy(dir.resolve(OPTIMIZER), moments.get(n + ".exp_avg"), n + ".exp_avg", trainer.optimizer().firstMoments()[i]);
            copy(dir.resolve(OPTIMIZER), moments.get(n + ".exp_avg_sq"), n + ".exp_avg_sq", trainer.optimizer().secondMoments()[i]);
        }
        if (weights.size() != names.size()) {
            throw new InputException(dir.resolve(LoraAdapter.WEIGHTS) + ": holds " + weights.size() + " tensors, this run's adapter has "
                    + names.size() + "; resume with the same --lora-r and --target-modules");
        }
        trainer.resumeAt(state.path("global_step").asInt());
        return state;
    }

    private static void copy(Path file, TensorData t, String name, float[] into) {
        if (t == null || t.numel() != into.length) {
            throw new InputException(file + ": tensor '" + name + "' is " + (t == null ? "missing" : "of " + t.numel() + " values")
                    + ", this run needs " + into.length + "; resume with the same --lora-r and --target-modules");
        }
        float[] v = t.toFloats();
        System.arraycopy(v, 0, into, 0, v.length);
    }

    /** A digest of every example's ids, mask and labels, to refuse resuming on other data. */
    public static String fingerprint(List<TrainingExample> data) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            for (TrainingExample e : data) {
                for (int[] a : List.of(e.ids(), e.mask(), e.labels())) {
                    ByteBuffer b = ByteBuffer.allocate(4 * a.length + 4).putInt(a.length);
                    for (int x : a) {
                        b.putInt(x);
                    }
                    md.update(b.array());
                }
            }
            return HexFormat.of().formatHex(md.digest()).substring(0, 16);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
