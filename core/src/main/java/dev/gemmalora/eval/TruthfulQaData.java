package dev.gemmalora.eval;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gemmalora.io.InputException;
import dev.gemmalora.io.Json;
import dev.gemmalora.tokenizer.PythonText;
import java.io.IOException;
import java.io.Reader;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.commons.csv.CSVException;
import org.apache.commons.csv.CSVFormat;
import org.apache.commons.csv.CSVParser;
import org.apache.commons.csv.CSVRecord;

/**
 * TruthfulQA as lm-eval reads it: the multiple-choice targets of mc_task.json (mc0 only in the
 * 2025 revision) and, from TruthfulQA.csv, each question's category and the generation
 * references. The two files are joined on the question text with surrounding white space stripped.
 */
public final class TruthfulQaData {
    public static final String CSV = "TruthfulQA.csv";
    public static final String MC_JSON = "mc_task.json";

    /** Answer choices in the file's order and their labels (1 true, 0 false). */
    public record Targets(List<String> choices, int[] labels) implements Serializable {
    }

    /**
     * One question; index is its position in mc_task.json (or the CSV row without mc_task.json).
     * Targets are null when the file lacks them; refs are null without the CSV.
     */
    public record Question(int index, String question, String category, Targets mc0, Targets mc1, Targets mc2,
                           List<String> trueRefs, List<String> falseRefs) implements Serializable {
    }

    /** The questions and where they came from. */
    public record Dataset(List<Question> questions, Path csv, Path mcJson) {
        public boolean hasMc() {
            return mcJson != null;
        }

        public boolean hasBinary() {
            return mcJson != null && questions.stream().allMatch(q -> q.mc0() != null);
        }

        public boolean hasGen() {
            return csv != null;
        }
    }

    private record CsvRow(int row, String category, List<String> trueRefs, List<String> falseRefs) {
    }

    private TruthfulQaData() {
    }

    /** path: a folder with TruthfulQA.csv and/or mc_task.json, or one of those files. */
    public static Dataset load(Path path) {
        Path csv = null;
        Path json = null;
        if (Files.isDirectory(path)) {
            csv = Files.isRegularFile(path.resolve(CSV)) ? path.resolve(CSV) : null;
            json = Files.isRegularFile(path.resolve(MC_JSON)) ? path.resolve(MC_JSON) : null;
            if (csv == null && json == null) {
                throw new InputException(path + ": holds neither " + CSV + " nor " + MC_JSON
                        + " (download them with: gemma-lora download truthfulqa)");
            }
        } else if (Files.isRegularFile(path)) {
            if (path.toString().endsWith(".csv")) {
                csv = path;
            } else {
                json = path;
            }
        } else {
            throw new InputException(path + ": TruthfulQA data not found (a folder with " + CSV + " and/or " + MC_JSON + ")");
        }
        Map<String, CsvRow> byQuestion = new HashMap<>();
        List<String> csvQuestions = new ArrayList<>();
        if (csv != null) {
            readCsv(csv, byQuestion, csvQuestions);
        }
        List<Question> out = new ArrayList<>();
        if (json != null) {
            JsonNode root = Json.read(json);
            if (!root.isArray()) {
                throw new InputException(json + ": expected a JSON array of questions");
            }
            for (int i = 0; i < root.size(); i++) {
                JsonNode q = root.get(i);
                if (!q.path("question").isTextual()) {
                    throw new InputException(json + ": question " + i + " has no 'question' string");
                }
                String text = q.get("question").asText();
                CsvRow row = byQuestion.get(PythonText.strip(text));
                if (csv != null && row == null) {
                    throw new InputException(json + ": question " + i + " ('" + text + "') is not in " + csv);
                }
                out.add(new Question(i, text, row == null ? "(unknown)" : row.category(),
                        targets(json, i, q, "mc0_targets", false), targets(json, i, q, "mc1_targets", true),
                        targets(json, i, q, "mc2_targets", true), row == null ? null : row.trueRefs(),
                        row == null ? null : row.falseRefs()));
            }
        } else {
            for (String text : csvQuestions) {
                CsvRow row = byQuestion.get(PythonText.strip(text));
                out.add(new Question(row.row(), text, row.category(), null, null, null, row.trueRefs(), row.falseRefs()));
            }
        }
        return new Dataset(out, csv, json);
    }

    private static Targets targets(Path file, int index, JsonNode q, String field, boolean required) {
        JsonNode t = q.get(field);
        if (t == null || t.isNull()) {
            if (required) {
                throw new InputException(file + ": question " + index + " has no '" + field + "'");
            }
            return null;
        }
        if (!t.isObject() || t.isEmpty()) {
            throw new InputException(file + ": question " + index + " field '" + field + "' must be a non-empty object of answer -> 0/1");
        }
        List<String> choices = new ArrayList<>();
        int[] labels = new int[t.size()];
        int k = 0;
        for (var it = t.fields(); it.hasNext(); k++) {
            var e = it.next();
            if (!e.getValue().canConvertToInt() || (e.getValue().asInt() != 0 && e.getValue().asInt() != 1)) {
                throw new InputException(file + ": question " + index + " field '" + field + "' answer '" + e.getKey()
                        + "' has label " + e.getValue() + ", expected 0 or 1");
            }
            choices.add(e.getKey());
            labels[k] = e.getValue().asInt();
        }
        if (labels[0] != 1) {
            throw new InputException(file + ": question " + index + " field '" + field
                    + "' has no true answer first (lm-eval expects the true answers first, labelled 1)");
        }
        return new Targets(choices, labels);
    }

    private static void readCsv(Path csv, Map<String, CsvRow> byQuestion, List<String> order) {
        CSVFormat fmt = CSVFormat.DEFAULT.builder().setHeader().setSkipHeaderRecord(true).get();
        try (Reader r = Files.newBufferedReader(csv); CSVParser p = CSVParser.parse(r, fmt)) {
            Map<String, Integer> header = new HashMap<>();
            int columns = 0;
            for (var e : p.getHeaderMap().entrySet()) {
                String name = e.getKey().replace("\uFEFF", "").strip();
                if (header.put(name, e.getValue()) != null) {
                    throw new InputException(csv + ": the header names column '" + name + "' twice");
                }
                columns = Math.max(columns, e.getValue() + 1);
            }
            for (String col : List.of("Category", "Question", "Correct Answers", "Incorrect Answers")) {
                if (!header.containsKey(col)) {
                    throw new InputException(csv + ": missing column '" + col + "' (found " + header.keySet() + ")");
                }
            }
            int row = 0;
            for (CSVRecord rec : p) {
                if (rec.size() < columns) {
                    throw new InputException(csv + ": question " + row + " (line " + rec.getParser().getCurrentLineNumber()
                            + ") has " + rec.size() + " columns, expected " + columns);
                }
                String q = rec.get(header.get("Question"));
                byQuestion.put(PythonText.strip(q), new CsvRow(row, rec.get(header.get("Category")),
                        references(rec.get(header.get("Correct Answers")), true),
                        references(rec.get(header.get("Incorrect Answers")), false)));
                order.add(q);
                row++;
            }
        } catch (CSVException e) {
            throw notCsv(csv, e);
        } catch (UncheckedIOException e) {
            // commons-csv's record iterator wraps a format error this way.
            if (e.getCause() instanceof CSVException c) {
                throw notCsv(csv, c);
            }
            throw e;
        } catch (IOException e) {
            throw InputException.ofRead(csv, e);
        } catch (IllegalStateException | IllegalArgumentException e) {
            throw notCsv(csv, e);
        }
    }

    private static InputException notCsv(Path csv, Exception e) {
        return new InputException(csv + ": not valid CSV (" + e.getMessage() + ")");
    }

    /**
     * HF's truthful_qa split (strip, split on ";", strip each) then lm-eval's _format_answers:
     * empty answers dropped, a final "." added; true answers also get "I have no comment.".
     */
    static List<String> references(String field, boolean correct) {
        List<String> out = new ArrayList<>();
        for (String a : PythonText.strip(field).split(";", -1)) {
            String s = PythonText.strip(a);
            if (!s.isEmpty()) {
                out.add(s.endsWith(".") ? s : s + ".");
            }
        }
        if (correct && !out.contains("I have no comment.")) {
            out.add("I have no comment.");
        }
        return out;
    }
}
