package dev.gemmalora.report;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gemmalora.eval.Summary;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * report.md and report.html: the overall table (each task, base and each adapter, with the
 * difference), a per-category table and charts; the HTML embeds the chart images.
 */
public final class EvalReport {
    /** One scored model: "base" or an adapter, its rows and summary. */
    public record Scored(String name, String adapter, List<ObjectNode> rows, ObjectNode summary) {
    }

    private EvalReport() {
    }

    public static void write(Path out, Map<String, String> about, List<Scored> models) throws IOException {
        Scored base = models.get(0);
        List<String> metrics = metricsOf(base.summary());
        String main = metrics.contains("mc2") ? "mc2" : metrics.contains("mc1") ? "mc1" : metrics.get(0);
        Map<String, Map<String, Map<String, Double>>> cats = new LinkedHashMap<>();
        models.forEach(s -> cats.put(s.name(), Summary.byCategory(s.rows())));
        List<String> categories = new ArrayList<>(cats.get(base.name()).keySet());

        Path charts = out.resolve("charts");
        Files.createDirectories(charts);
        Map<String, double[]> perModel = new LinkedHashMap<>();
        models.forEach(s -> perModel.put(s.name(), categories.stream()
                .mapToDouble(c -> cats.get(s.name()).getOrDefault(c, Map.of()).getOrDefault(main, Double.NaN)).toArray()));
        Path byCat = charts.resolve(main + "_by_category.png");
        Charts.bars(byCat, main.toUpperCase() + " by category", main, categories, perModel, true, 1000, 200 + 26 * categories.size() * Math.max(1, models.size()) / 2);
        List<Path> images = new ArrayList<>(List.of(byCat));
        if (models.size() > 1) {
            Map<String, double[]> deltas = new LinkedHashMap<>();
            double[] b = perModel.get(base.name());
            for (Scored s : models.subList(1, models.size())) {
                double[] v = perModel.get(s.name());
                double[] d = new double[v.length];
                for (int i = 0; i < d.length; i++) {
                    d[i] = v[i] - b[i];
                }
                deltas.put(s.name() + " - base", d);
            }
            Path delta = charts.resolve(main + "_delta_by_category.png");
            Charts.bars(delta, main.toUpperCase() + " change against the base model, by category", "difference", categories, deltas, true,
                    1000, 200 + 22 * categories.size());
            images.add(delta);
            Map<String, double[]> overall = new LinkedHashMap<>();
            models.forEach(s -> overall.put(s.name(), metrics.stream().filter(m -> !m.endsWith("_diff") && !m.endsWith("_max"))
                    .mapToDouble(m -> s.summary().get(m).asDouble()).toArray()));
            Path overallPng = charts.resolve("overall.png");
            Charts.bars(overallPng, "Overall scores", "score", metrics.stream().filter(m -> !m.endsWith("_diff") && !m.endsWith("_max")).toList(),
                    overall, false, 900, 450);
            images.add(0, overallPng);
        }

        StringBuilder md = new StringBuilder();
        StringBuilder html = new StringBuilder();
        md.append("# TruthfulQA: base model");
        models.stream().skip(1).forEach(s -> md.append(" vs ").append(s.name()));
        md.append("\n\n");
        about.forEach((k, v) -> md.append("- **").append(k).append("**: ").append(v).append('\n'));
        md.append('\n');
        html.append("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>TruthfulQA report</title><style>")
                .append("body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222}")
                .append("table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 10px;text-align:right}")
                .append("td:first-child,th:first-child{text-align:left}.up{color:#1a7f37}.down{color:#c62828}img{max-width:100%}")
                .append("</style></head><body><h1>").append(esc(md.substring(2, md.indexOf("\n")))).append("</h1><ul>");
        about.forEach((k, v) -> html.append("<li><b>").append(esc(k)).append("</b>: ").append(esc(v)).append("</li>"));
        html.append("</ul>");

        List<String> header = new ArrayList<>(List.of("metric"));
        models.forEach(s -> header.add(s.name()));
        models.stream().skip(1).forEach(s -> header.add(s.name() + " - base"));
        List<List<String>> rows = new ArrayList<>();
        for (String m : metrics) {
            List<String> r = new ArrayList<>(List.of(m));
            models.forEach(s -> r.add(fmt(s.summary().get(m).asDouble())));
            models.stream().skip(1).forEach(s -> r.add(signed(s.summary().get(m).asDouble() - base.summary().get(m).asDouble())));
            rows.add(r);
        }
        List<String> counts = new ArrayList<>(List.of("questions / positions / seconds"));
        models.forEach(s -> counts.add(s.summary().get("n").asInt() + " / " + s.summary().get("positions").asLong() + " / "
                + String.format("%.0f", s.summary().get("seconds").asDouble())));
        models.stream().skip(1).forEach(s -> counts.add(""));
        rows.add(counts);
        section(md, html, "Overall", header, rows);

        List<String> catHeader = new ArrayList<>(List.of("category", "n"));
        List<String> catMetrics = metrics.stream().filter(m -> !m.endsWith("_diff") && !m.endsWith("_max")).toList();
        for (String m : catMetrics) {
            models.forEach(s -> catHeader.add(m + " " + s.name()));
            models.stream().skip(1).forEach(s -> catHeader.add(m + " diff"));
        }
        List<List<String>> catRows = new ArrayList<>();
        for (String c : categories) {
            List<String> r = new ArrayList<>(List.of(c, String.valueOf(cats.get(base.name()).get(c).get("n").intValue())));
            for (String m : catMetrics) {
                double b = cats.get(base.name()).get(c).get(m);
                models.forEach(s -> r.add(fmt(cats.get(s.name()).get(c).get(m))));
                models.stream().skip(1).forEach(s -> r.add(signed(cats.get(s.name()).get(c).get(m) - b)));
            }
            catRows.add(r);
        }
        section(md, html, "By category (" + categories.size() + ")", catHeader, catRows);

        md.append("## Charts\n\n");
        html.append("<h2>Charts</h2>");
        for (Path img : images) {
            String rel = out.relativize(img).toString();
            md.append("![").append(img.getFileName()).append("](").append(rel).append(")\n\n");
            html.append("<p><img alt=\"").append(esc(rel)).append("\" src=\"data:image/png;base64,")
                    .append(Base64.getEncoder().encodeToString(Files.readAllBytes(img))).append("\"></p>");
        }
        md.append("## Protocol\n\n").append(PROTOCOL).append('\n');
        html.append("<h2>Protocol</h2><p>").append(esc(PROTOCOL)).append("</p></body></html>\n");
        Files.writeString(out.resolve("report.md"), md);
        Files.writeString(out.resolve("report.html"), html);
    }

    static final String PROTOCOL = "MC1/MC2 as lm-evaluation-harness truthfulqa_mc1/mc2: the six-shot QA primer, context "
            + "'<primer>\\n\\nQ: <question>\\nA:', continuation ' <answer>', <bos> added, log-likelihood = sum of the "
            + "continuation's token log-probs; MC1 = the true answer (listed first) has the highest log-likelihood, MC2 = the "
            + "normalised probability mass on the true answers. Binary (2025 revision): Best Answer vs Best Incorrect Answer "
            + "scored like MC1. Generation: greedy after '<primer>\\n\\nQ: <question>', stop at a blank line or 256 tokens, "
            + "BLEU (sacrebleu, intl tokenizer, exp smoothing) and ROUGE-1/2/Lsum (rouge_score) against the true and false "
            + "references: max over true, diff = best true - best false, acc = diff > 0.";

    private static void section(StringBuilder md, StringBuilder html, String title, List<String> header, List<List<String>> rows) {
        md.append("## ").append(title).append("\n\n| ").append(String.join(" | ", header)).append(" |\n|");
        header.forEach(h -> md.append("---|"));
        md.append('\n');
        rows.forEach(r -> md.append("| ").append(String.join(" | ", r)).append(" |\n"));
        md.append('\n');
        html.append("<h2>").append(esc(title)).append("</h2><table><tr>");
        header.forEach(h -> html.append("<th>").append(esc(h)).append("</th>"));
        html.append("</tr>");
        for (List<String> r : rows) {
            html.append("<tr>");
            r.forEach(c -> html.append(c.startsWith("+") && !c.equals("+0.0000") ? "<td class=\"up\">"
                    : c.startsWith("-") && c.length() > 1 ? "<td class=\"down\">" : "<td>").append(esc(c)).append("</td>"));
            html.append("</tr>");
        }
        html.append("</table>");
    }

    private static String fmt(double v) {
        return String.format("%.4f", v);
    }

    /** A difference to four places; one that rounds to zero reads +0.0000, not -0.0000 in red. */
    static String signed(double v) {
        String s = String.format("%+.4f", v);
        return s.equals("-0.0000") ? "+0.0000" : s;
    }

    private static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }

    /** The metrics a summary holds, in report order. */
    public static List<String> metricsOf(JsonNode summary) {
        return Summary.METRICS.stream().filter(summary::has).toList();
    }
}
