package dev.gemmalora.eval;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * rouge_score's RougeScorer(["rouge1", "rouge2", "rougeLsum"]) F-measures without stemming, on
 * the 0-100 scale, with lm-eval's preparation (" . " becomes a sentence break) of both texts.
 */
public final class Rouge {
    private static final Pattern NON_ALNUM = Pattern.compile("[^a-z0-9]+");
    private static final Pattern SPACES = Pattern.compile("\\s+");
    private static final Pattern VALID = Pattern.compile("^[a-z0-9]+$");

    public record Scores(double rouge1, double rouge2, double rougeLsum) {
    }

    private Rouge() {
    }

    /** lm-eval's rouge(): prepares both texts and scores the prediction against the reference. */
    public static Scores score(String reference, String prediction) {
        String ref = prepare(reference);
        String pred = prepare(prediction);
        List<String> r = tokenize(ref);
        List<String> p = tokenize(pred);
        return new Scores(100 * ngramF(r, p, 1), 100 * ngramF(r, p, 2), 100 * summaryLcsF(sentences(ref), sentences(pred)));
    }

    static String prepare(String s) {
        return s.replace(" . ", ".\n");
    }

    /** rouge_score's default tokenizer: lowercase, non-alphanumerics to spaces, split. */
    static List<String> tokenize(String s) {
        String t = NON_ALNUM.matcher(s.toLowerCase(Locale.ROOT)).replaceAll(" ");
        List<String> out = new ArrayList<>();
        for (String tok : SPACES.split(t)) {
            if (VALID.matcher(tok).matches()) {
                out.add(tok);
            }
        }
        return out;
    }

    private static List<List<String>> sentences(String s) {
        List<List<String>> out = new ArrayList<>();
        for (String sent : s.split("\n", -1)) {
            if (!sent.isEmpty()) {
                out.add(tokenize(sent));
            }
        }
        return out;
    }

    static double fmeasure(double precision, double recall) {
        return precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0.0;
    }

    private static double ngramF(List<String> target, List<String> prediction, int n) {
        Map<List<String>, Integer> t = ngrams(target, n);
        Map<List<String>, Integer> p = ngrams(prediction, n);
        int overlap = 0;
        for (var e : t.entrySet()) {
            overlap += Math.min(e.getValue(), p.getOrDefault(e.getKey(), 0));
        }
        int tCount = t.values().stream().mapToInt(Integer::intValue).sum();
        int pCount = p.values().stream().mapToInt(Integer::intValue).sum();
        double precision = overlap / (double) Math.max(pCount, 1);
        double recall = overlap / (double) Math.max(tCount, 1);
        return fmeasure(precision, recall);
    }

    private static Map<List<String>, Integer> ngrams(List<String> tokens, int n) {
        Map<List<String>, Integer> out = new HashMap<>();
        for (int i = 0; i + n <= tokens.size(); i++) {
            out.merge(tokens.subList(i, i + n), 1, Integer::sum);
        }
        return out;
    }

    /** Summary-level LCS: the union LCS of each reference sentence with all candidate sentences. */
    private static double summaryLcsF(List<List<String>> ref, List<List<String>> can) {
        if (ref.isEmpty() || can.isEmpty()) {
            return 0.0;
        }
        int m = ref.stream().mapToInt(List::size).sum();
        int n = can.stream().mapToInt(List::size).sum();
        if (m == 0 || n == 0) {
            return 0.0;
        }
        Map<String, Integer> cntR = new HashMap<>();
        Map<String, Integer> cntC = new HashMap<>();
        ref.forEach(s -> s.forEach(t -> cntR.merge(t, 1, Integer::sum)));
        can.forEach(s -> s.forEach(t -> cntC.merge(t, 1, Integer::sum)));
        int hits = 0;
        for (List<String> r : ref) {
            TreeSet<Integer> union = new TreeSet<>();
            for (List<String> c : can) {
                union.addAll(lcsIndices(r, c));
            }
            for (int i : union) {
                String t = r.get(i);
                if (cntC.getOrDefault(t, 0) > 0 && cntR.getOrDefault(t, 0) > 0) {
                    hits++;
                    cntC.merge(t, -1, Integer::sum);
                    cntR.merge(t, -1, Integer::sum);
                }
            }
        }
        return fmeasure(hits / (double) n, hits / (double) m);
    }

    /** Indices into ref of one LCS with can, chosen by rouge_score's backtracking rule. */
    private static List<Integer> lcsIndices(List<String> ref, List<String> can) {
        int rows = ref.size();
        int cols = can.size();
        int[][] t = new int[rows + 1][cols + 1];
        for (int i = 1; i <= rows; i++) {
            for (int j = 1; j <= cols; j++) {
                t[i][j] = ref.get(i - 1).equals(can.get(j - 1)) ? t[i - 1][j - 1] + 1 : Math.max(t[i - 1][j], t[i][j - 1]);
            }
        }
        List<Integer> lcs = new ArrayList<>();
        int i = rows;
        int j = cols;
        while (i > 0 && j > 0) {
            if (ref.get(i - 1).equals(can.get(j - 1))) {
                lcs.add(0, i - 1);
                i--;
                j--;
            } else if (t[i][j - 1] > t[i - 1][j]) {
                j--;
            } else {
                i--;
            }
        }
        return lcs;
    }
}
