package dev.gemmalora;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gemmalora.eval.LogLikelihood;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Rows of golden truthfulqa_mc_*.jsonl turned into loglikelihood requests. */
final class GoldenMcRows {
    private GoldenMcRows() {
    }

    static List<JsonNode> read(Path file) throws IOException {
        return GoldenTokenizerTest.lines(file);
    }

    /** The requests of one row, mc1 choices first, then mc2. */
    static List<LogLikelihood.Request> requests(JsonNode row) {
        int[] ctx = GoldenTokenizerTest.ints(row.get("context_ids"));
        List<LogLikelihood.Request> out = new ArrayList<>();
        for (String task : List.of("mc1_targets", "mc2_targets")) {
            for (JsonNode cont : row.get(task).get("continuation_ids")) {
                out.add(new LogLikelihood.Request(ctx, GoldenTokenizerTest.ints(cont)));
            }
        }
        return out;
    }

    static int[] commonPrefix(List<JsonNode> rows) {
        int[] p = GoldenTokenizerTest.ints(rows.get(0).get("context_ids"));
        int n = p.length;
        for (JsonNode r : rows) {
            int[] c = GoldenTokenizerTest.ints(r.get("context_ids"));
            int i = 0;
            while (i < n && i < c.length && c[i] == p[i]) {
                i++;
            }
            n = i;
        }
        return java.util.Arrays.copyOf(p, n);
    }
}
