package dev.gemmalora.lora;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gemmalora.GoldenPaths;
import dev.gemmalora.io.InputException;
import dev.gemmalora.io.Json;
import dev.gemmalora.io.SafeTensorsFile;
import dev.gemmalora.model.GemmaModel;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LoraAdapterTest {
    @Test
    void adapterForAnotherModelFailsWithAClearMessage() {
        GemmaModel t1 = GemmaModel.load(GoldenPaths.t1().resolve("model"));
        String m = assertThrows(InputException.class,
                () -> LoraAdapter.load(GoldenPaths.mc().resolve("adapter"), t1)).getMessage();
        assertTrue(m.contains("adapter_model.safetensors") && m.contains("another model"), m);
    }

    @Test
    void aTrainingRunFolderPointsAtItsFinalAdapter(@TempDir Path run) throws Exception {
        Files.createDirectories(run.resolve("final"));
        Files.copy(GoldenPaths.t1().resolve("adapter").resolve(LoraAdapter.CONFIG), run.resolve("final").resolve(LoraAdapter.CONFIG));
        String m = assertThrows(InputException.class, () -> LoraConfig.read(run)).getMessage();
        assertTrue(m.endsWith("(this looks like a training run: its adapter is " + run.resolve("final") + ")"), m);
    }

    @Test
    void savedAdapterHasPeftNamesShapesAndConfigKeys(@TempDir Path dir) throws Exception {
        Path golden = GoldenPaths.t1().resolve("adapter");
        GemmaModel t1 = GemmaModel.load(GoldenPaths.t1().resolve("model"));
        LoraAdapter a = LoraAdapter.load(golden, t1);
        a.save(dir);
        SafeTensorsFile want = SafeTensorsFile.open(golden.resolve(LoraAdapter.WEIGHTS));
        SafeTensorsFile got = SafeTensorsFile.open(dir.resolve(LoraAdapter.WEIGHTS));
        assertEquals(want.tensors().keySet(), got.tensors().keySet());
        for (String name : want.tensors().keySet()) {
            assertArrayEquals(want.get(name).shape(), got.get(name).shape(), name);
            assertArrayEquals(want.get(name).toFloats(), got.get(name).toFloats(), name);
        }
        var wantCfg = Json.read(golden.resolve(LoraAdapter.CONFIG));
        var gotCfg = Json.read(dir.resolve(LoraAdapter.CONFIG));
        wantCfg.fieldNames().forEachRemaining(k -> assertTrue(gotCfg.has(k), "adapter_config.json lacks " + k));
        for (String k : new String[] {"r", "lora_alpha", "use_rslora", "target_modules", "peft_type", "task_type"}) {
            assertEquals(wantCfg.get(k), gotCfg.get(k), k);
        }
    }
}
