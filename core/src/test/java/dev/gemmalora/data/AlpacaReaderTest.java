package dev.gemmalora.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gemmalora.io.InputException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AlpacaReaderTest {
    @TempDir
    Path dir;

    @Test
    void readsJsonArrayAndJsonLines() throws Exception {
        Path a = dir.resolve("a.json");
        Files.writeString(a, "[{\"instruction\":\"i\",\"input\":\"\",\"output\":\"o\"}]");
        assertEquals(new AlpacaRecord("i", "", "o"), AlpacaReader.read(a).get(0));
        Path b = dir.resolve("b.jsonl");
        Files.writeString(b, "{\"instruction\":\"i\",\"output\":\"o\"}\n\n{\"instruction\":\"j\",\"input\":\"x\",\"output\":\"p\"}\n");
        assertEquals(2, AlpacaReader.read(b).size());
    }

    @Test
    void namesTheBadRecordByIndex() throws Exception {
        Path a = dir.resolve("bad.json");
        Files.writeString(a, "[{\"instruction\":\"i\",\"output\":\"o\"},{\"instruction\":3,\"output\":\"o\"}]");
        String m = assertThrows(InputException.class, () -> AlpacaReader.read(a)).getMessage();
        assertTrue(m.contains("bad.json") && m.contains("record 1") && m.contains("'instruction'"), m);
        Files.writeString(a, "[{\"instruction\":\"i\"}]");
        m = assertThrows(InputException.class, () -> AlpacaReader.read(a)).getMessage();
        assertTrue(m.contains("record 0") && m.contains("'output'"), m);
    }

    @Test
    void brokenJsonArrayIsNamedByLineAndColumn() throws Exception {
        Path a = dir.resolve("cut.json");
        Files.writeString(a, "[\n{\"instruction\":\"i\",\"output\":\"o\"},\n{\"instruction\" \"i\"}]");
        String m = assertThrows(InputException.class, () -> AlpacaReader.read(a)).getMessage();
        assertTrue(m.startsWith(a + ": not valid JSON at line 3, column "), m);
    }
}
