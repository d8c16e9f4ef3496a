package dev.gemmalora.download;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gemmalora.io.Json;
import java.io.IOException;
import java.io.StringWriter;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.commons.csv.CSVFormat;
import org.apache.commons.csv.CSVPrinter;

/**
 * truthfulqa/truthful_qa from the Hugging Face dataset viewer's JSON rows API (the Hub stores it as
 * Parquet), written as the files the evaluator reads: mc_task.json and TruthfulQA.csv.
 */
public final class HfTruthfulQa {
    public static final String ROWS_API = "https://datasets-server.huggingface.co";
    private static final String DATASET = "truthfulqa/truthful_qa";

    private HfTruthfulQa() {
    }

    private static List<JsonNode> rows(Fetcher f, String endpoint, String config) throws IOException {
        List<JsonNode> out = new ArrayList<>();
        long total = Long.MAX_VALUE;
        for (int offset = 0; offset < total; offset += 100) {
            JsonNode page = Json.MAPPER.readTree(f.getText(URI.create(endpoint + "/rows?dataset=" + DATASET.replace("/", "%2F")
                    + "&config=" + config + "&split=validation&offset=" + offset + "&length=100")));
            total = page.path("num_rows_total").asLong(0);
            JsonNode rows = page.path("rows");
            if (rows.isEmpty()) {
                break;
            }
            rows.forEach(r -> out.add(r.path("row")));
        }
        if (out.isEmpty()) {
            throw new DownloadException(endpoint + ": no rows for " + DATASET + " " + config);
        }
        return out;
    }

    public static void download(Fetcher f, String endpoint, Path dir) throws IOException {
        Files.createDirectories(dir);
        ArrayNode mc = Json.MAPPER.createArrayNode();
        for (JsonNode r : rows(f, endpoint, "multiple_choice")) {
            ObjectNode q = mc.addObject();
            q.put("question", r.path("question").asText());
            for (String t : List.of("mc1_targets", "mc2_targets")) {
                ObjectNode m = q.putObject(t);
                JsonNode choices = r.path(t).path("choices");
                for (int i = 0; i < choices.size(); i++) {
                    m.put(choices.get(i).asText(), r.path(t).path("labels").get(i).asInt());
                }
            }
        }
        Files.writeString(dir.resolve("mc_task.json"), Json.write(mc));
        StringWriter csv = new StringWriter();
        try (CSVPrinter p = new CSVPrinter(csv, CSVFormat.DEFAULT)) {
            p.printRecord("Type", "Category", "Question", "Best Answer", "Correct Answers", "Incorrect Answers", "Source");
            for (JsonNode r : rows(f, endpoint, "generation")) {
                p.printRecord(r.path("type").asText(), r.path("category").asText(), r.path("question").asText(),
                        r.path("best_answer").asText(), join(r.path("correct_answers")), join(r.path("incorrect_answers")),
                        r.path("source").asText());
            }
        }
        Files.writeString(dir.resolve("TruthfulQA.csv"), csv.toString());
    }

    private static String join(JsonNode answers) {
        List<String> a = new ArrayList<>();
        answers.forEach(n -> a.add(n.asText()));
        return String.join("; ", a);
    }
}
