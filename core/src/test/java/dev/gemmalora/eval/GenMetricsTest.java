package dev.gemmalora.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gemmalora.GoldenPaths;
import dev.gemmalora.GoldenTokenizerTest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/** BLEU and ROUGE against the sacrebleu / rouge_score values in golden/metrics (computed through lm-eval). */
class GenMetricsTest {
    private static Path dir() {
        Path d = GoldenPaths.goldenRoot().resolve("metrics");
        Assumptions.assumeTrue(Files.isDirectory(d), "golden/metrics not present");
        return d;
    }

    private static List<String> strings(JsonNode a) {
        List<String> out = new ArrayList<>();
        a.forEach(n -> out.add(n.asText()));
        return out;
    }

    @Test
    void intlTokenizerAndBleuMatchSacrebleu() throws Exception {
        List<JsonNode> cases = GoldenTokenizerTest.lines(dir().resolve("bleu_tokenizer_cases.jsonl"));
        assertEquals(30, cases.size());
        for (JsonNode c : cases) {
            String name = c.get("name").asText();
            assertEquals(c.get("hypothesis_intl_tokens").asText(), Bleu.tokenizeIntl(c.get("hypothesis").asText()), name);
            assertEquals(c.get("reference_intl_tokens").asText(), Bleu.tokenizeIntl(c.get("reference").asText()), name);
            Bleu.Stats s = Bleu.stats(c.get("hypothesis").asText(), c.get("reference").asText());
            assertEquals(c.get("sys_len").asInt(), s.sysLen(), name);
            assertEquals(c.get("ref_len").asInt(), s.refLen(), name);
            assertEquals(c.get("counts").toString(), java.util.Arrays.toString(s.correct()).replace(" ", ""), name);
            assertEquals(c.get("totals").toString(), java.util.Arrays.toString(s.total()).replace(" ", ""), name);
            assertEquals(c.get("bleu").asDouble(), Bleu.score(s), 1e-9, name);
            JsonNode r = c.get("extra_rouge");
            assertEquals(strings(r.get("hypothesis_rouge_tokens")), Rouge.tokenize(c.get("hypothesis").asText()), name);
            Rouge.Scores rs = Rouge.score(c.get("reference").asText(), c.get("hypothesis").asText());
            assertEquals(r.get("rouge1").asDouble(), rs.rouge1(), 1e-12, name);
            assertEquals(r.get("rouge2").asDouble(), rs.rouge2(), 1e-12, name);
            assertEquals(r.get("rougeLsum").asDouble(), rs.rougeLsum(), 1e-12, name);
        }
    }

    @Test
    void allThousandGenerationCasesMatchLmEval() throws Exception {
        List<JsonNode> cases = GoldenTokenizerTest.lines(dir().resolve("truthfulqa_gen_metric_cases.jsonl"));
        assertEquals(1000, cases.size());
        int checked = 0;
        for (JsonNode c : cases) {
            String id = "case " + c.get("case_id").asInt() + " (" + c.get("prediction_kind").asText() + ")";
            GenMetrics.Result r = GenMetrics.score(c.get("prediction").asText(), strings(c.get("true_refs")), strings(c.get("false_refs")));
            for (String m : List.of("bleu", "rouge1", "rouge2", "rougeLsum")) {
                double[] got = r.perReference().get(m.equals("rougeLsum") ? "rougeL" : m);
                JsonNode want = c.get(m);
                assertEquals(want.size(), got.length, id);
                for (int i = 0; i < got.length; i++) {
                    assertEquals(want.get(i).asDouble(), got[i], m.equals("bleu") ? 1e-9 : 1e-12, id + " " + m + " ref " + i);
                    checked++;
                }
            }
            for (String m : GenMetrics.METRICS) {
                assertEquals(c.get(m + "_max").asDouble(), r.aggregates().get(m + "_max"), 1e-9, id + " " + m + "_max");
                assertEquals(c.get(m + "_diff").asDouble(), r.aggregates().get(m + "_diff"), 1e-9, id + " " + m + "_diff");
                assertEquals(c.get(m + "_acc").asDouble(), r.aggregates().get(m + "_acc"), 0.0, id + " " + m + "_acc");
            }
        }
        assertTrue(checked > 30_000, "per-reference values checked: " + checked);
    }
}
