package dev.gemmalora;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.gemmalora.data.AlpacaReader;
import dev.gemmalora.eval.TruthfulQaData;
import dev.gemmalora.io.AtomicDir;
import dev.gemmalora.io.CheckpointTensors;
import dev.gemmalora.io.InputException;
import dev.gemmalora.io.SafeTensorsFile;
import dev.gemmalora.lora.LoraConfig;
import dev.gemmalora.model.Gemma2Config;
import dev.gemmalora.train.CheckpointManifest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Every parser of a file a user hands us, under Jazzer. The property: a file ends in success or
 * in the project's own input error (InputException: exit 2, one line naming the file); any other
 * exception, a hang or an out-of-memory is a finding. `./run-tests` replays the kept inputs in
 * src/test/resources/dev/gemmalora/ParserFuzzTestInputs/ (each that once failed, and seeds);
 * `scripts/fuzz TARGET` fuzzes one target for real. Inputs go through the real entry points, from
 * a file in a fresh folder, as the CLI reads them.
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
        parse("config.json", data, (dir, file) -> Gemma2Config.load(dir));
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
}
