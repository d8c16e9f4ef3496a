package dev.gemmalora.eval;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gemmalora.io.Json;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** Means of the per-question scores, overall and per category. */
public final class Summary {
    /** The per-question fields averaged, in report order. */
    public static final List<String> METRICS = List.of("mc1", "mc2", "binary", "bleu_max", "bleu_acc", "bleu_diff",
            "rouge1_max", "rouge1_acc", "rouge1_diff", "rouge2_max", "rouge2_acc", "rouge2_diff",
            "rougeL_max", "rougeL_acc", "rougeL_diff");

    private Summary() {
    }

    /** Metric means over rows, for the metrics the rows have. */
    public static Map<String, Double> means(List<? extends JsonNode> rows) {
        Map<String, Double> out = new LinkedHashMap<>();
        for (String m : METRICS) {
            if (!rows.isEmpty() && rows.get(0).has(m)) {
                out.put(m, rows.stream().mapToDouble(r -> r.get(m).asDouble()).average().orElse(Double.NaN));
            }
        }
        return out;
    }

    /** Metric means per category (sorted by name), with the question count under "n". */
    public static Map<String, Map<String, Double>> byCategory(List<? extends JsonNode> rows) {
        Map<String, List<JsonNode>> groups = new TreeMap<>();
        rows.forEach(r -> groups.computeIfAbsent(r.path("category").asText(), k -> new ArrayList<>()).add(r));
        Map<String, Map<String, Double>> out = new LinkedHashMap<>();
        groups.forEach((cat, rs) -> {
            Map<String, Double> m = new LinkedHashMap<>(means(rs));
            m.put("n", (double) rs.size());
            out.put(cat, m);
        });
        return out;
    }

    /** summary.json: the means, n, positions computed against lm-eval's count, and time. */
    public static ObjectNode json(List<? extends JsonNode> rows, long primerPositions) {
        ObjectNode s = Json.MAPPER.createObjectNode();
        means(rows).forEach(s::put);
        s.put("n", rows.size());
        long positions = primerPositions + rows.stream().mapToLong(r -> r.path("positions").asLong()).sum();
        double seconds = rows.stream().mapToDouble(r -> r.path("seconds").asDouble()).sum();
        s.put("positions", positions);
        s.put("logit_positions", rows.stream().mapToLong(r -> r.path("logit_positions").asLong()).sum());
        s.put("lm_eval_positions", rows.stream().mapToLong(r -> r.path("lm_eval_positions").asLong()).sum());
        s.put("seconds", seconds);
        s.put("tokens_per_s", seconds > 0 ? positions / seconds : 0);
        return s;
    }
}
