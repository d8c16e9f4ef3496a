package dev.gemmalora;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.gemmalora.data.AlpacaReader;
import dev.gemmalora.eval.TruthfulQaData;
import dev.gemmalora.io.AtomicDir;
import dev.gemmalora.io.CheckpointTensors;
import dev.gemmalora.io.InputException;
import dev.gemmalora.io.SafeTensorsFile;
import dev.gemmalora.lora.LoraAdapter;
import dev.gemmalora.lora.LoraConfig;
import dev.gemmalora.lora.LoraInit;
import dev.gemmalora.model.GemmaConfig;
import dev.gemmalora.model.GemmaModel;
import dev.gemmalora.train.Checkpoint;
import dev.gemmalora.train.CheckpointManifest;
import dev.gemmalora.train.TrainConfig;
import dev.gemmalora.train.Trainer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;

/**
 * Every parser of a file a user hands us, under Jazzer. The property: a file ends in success or
 * in the project's own input error (InputException: exit 2, one line naming the file); any other
 * exception, a hang or an out-of-memory is a finding. `./run-tests` replays the kept inputs in
 * src/test/resources/dev/gemmalora/ParserFuzzTestInputs/ (each that once failed, and seeds);
 * `scripts/fuzz TARGET` fuzzes one target for real. Inputs go through the real entry points, from
 * a file in a fresh folder, as the CLI reads them; a checkpoint's trainer_state.json and
 * optimizer.safetensors go through --resume's restore, beside the checkpoint's other real files.
 */
class ParserFuzzTest {
    /** Writes data as dir/name, runs the parser on what the CLI would pass it, and keeps only its input errors. */
    private static void parse(String name, byte[] data, ParserCall call) throws IOException {
        Path dir = Files.createTempDirectory("fuzz");
        try {
            Files.write(dir.resolve(name), data);
            call.run(dir, dir.resolve(name));
        } catch (InputException expected) {
            // the project's own error for a bad file
        } finally {
            AtomicDir.deleteTree(dir);
        }
    }

    private interface ParserCall {
        void run(Path dir, Path file) throws IOException;
    }

    @FuzzTest
    void safetensors(byte[] data) throws IOException {
        parse("model.safetensors", data, (dir, file) -> SafeTensorsFile.open(file));
    }

    @FuzzTest
    void shardedIndex(byte[] data) throws IOException {
        parse(CheckpointTensors.INDEX, data, (dir, file) -> CheckpointTensors.open(dir));
    }

    @FuzzTest
    void modelConfig(byte[] data) throws IOException {
        parse("config.json", data, (dir, file) -> GemmaConfig.load(dir));
    }

    @FuzzTest
    void adapterConfig(byte[] data) throws IOException {
        parse("adapter_config.json", data, (dir, file) -> LoraConfig.read(dir));
    }

    @FuzzTest
    void alpacaJson(byte[] data) throws IOException {
        parse("data.json", data, (dir, file) -> AlpacaReader.read(file));
    }

    @FuzzTest
    void alpacaJsonLines(byte[] data) throws IOException {
        parse("data.jsonl", data, (dir, file) -> AlpacaReader.read(file));
    }

    @FuzzTest
    void truthfulQaCsv(byte[] data) throws IOException {
        parse(TruthfulQaData.CSV, data, (dir, file) -> TruthfulQaData.load(file));
    }

    @FuzzTest
    void truthfulQaMcJson(byte[] data) throws IOException {
        parse(TruthfulQaData.MC_JSON, data, (dir, file) -> TruthfulQaData.load(file));
    }

    @FuzzTest
    void checkpointManifest(byte[] data) throws IOException {
        parse(CheckpointManifest.FILE, data, (dir, file) -> CheckpointManifest.damage(dir));
    }

    /** A real checkpoint of the t1 model (r 8 on every projection), whose files the next two targets replace one at a time. */
    private static Path checkpoint;
    private static Trainer trainer;

    @BeforeAll
    static void writeACheckpoint() throws IOException {
        GemmaModel model = GemmaModel.load(GoldenPaths.t1().resolve("model"));
        LoraAdapter adapter = LoraInit.create(model, LoraConfig.of(8, 32, 0, false, LoraConfig.ALL_PROJECTIONS), 1);
        trainer = new Trainer(model, adapter, TrainConfig.recipe());
        checkpoint = Checkpoint.write(Files.createTempDirectory("fuzz-checkpoint"), trainer, 10, 4, "fingerprint", List.of());
    }

    /** --resume with the checkpoint's file `name` replaced by data. */
    private static void restoreWith(String name, byte[] data) throws IOException {
        parse(name, data, (dir, file) -> {
            try (Stream<Path> files = Files.list(checkpoint)) {
                for (Path f : files.toList()) {
                    if (!f.getFileName().toString().equals(name)) {
                        Files.copy(f, dir.resolve(f.getFileName()));
                    }
                }
            }
            Checkpoint.restore(dir, trainer, 4, "fingerprint");
        });
    }

    @FuzzTest
    void trainerState(byte[] data) throws IOException {
        restoreWith(Checkpoint.STATE, data);
    }

    @FuzzTest
    void optimizerState(byte[] data) throws IOException {
        restoreWith(Checkpoint.OPTIMIZER, data);
    }
}
