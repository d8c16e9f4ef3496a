package dev.gemmalora.eval;

import dev.gemmalora.tokenizer.PythonText;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * sacrebleu 2.x corpus_bleu of one hypothesis against one reference, as lm-eval calls it:
 * tokenize="intl", smooth_method="exp", no lowercasing, no effective order.
 */
public final class Bleu {
    private static final Pattern PUNCT_AFTER_NON_DIGIT = Pattern.compile("(\\P{N})(\\p{P})");
    private static final Pattern PUNCT_BEFORE_NON_DIGIT = Pattern.compile("(\\p{P})(\\P{N})");
    private static final Pattern SYMBOL = Pattern.compile("(\\p{S})");
    private static final int ORDER = 4;

    /** The sufficient statistics sacrebleu keeps: lengths, matches and totals per n-gram order. */
    public record Stats(int sysLen, int refLen, int[] correct, int[] total) {
    }

    private Bleu() {
    }

    /** sacrebleu's TokenizerV14International after the rstrip its BLEU applies to each segment. */
    public static String tokenizeIntl(String s) {
        String line = PythonText.rstrip(s);
        line = PUNCT_AFTER_NON_DIGIT.matcher(line).replaceAll("$1 $2 ");
        line = PUNCT_BEFORE_NON_DIGIT.matcher(line).replaceAll(" $1 $2");
        line = SYMBOL.matcher(line).replaceAll(" $1 ");
        return String.join(" ", PythonText.split(line));
    }

    public static Stats stats(String hypothesis, String reference) {
        List<String> hyp = PythonText.split(tokenizeIntl(hypothesis));
        List<String> ref = PythonText.split(tokenizeIntl(reference));
        int[] correct = new int[ORDER];
        int[] total = new int[ORDER];
        for (int n = 1; n <= ORDER; n++) {
            Map<List<String>, Integer> refCounts = ngrams(ref, n);
            Map<List<String>, Integer> hypCounts = ngrams(hyp, n);
            for (var e : hypCounts.entrySet()) {
                correct[n - 1] += Math.min(e.getValue(), refCounts.getOrDefault(e.getKey(), 0));
            }
            total[n - 1] = Math.max(0, hyp.size() - n + 1);
        }
        return new Stats(hyp.size(), ref.size(), correct, total);
    }

    private static Map<List<String>, Integer> ngrams(List<String> tokens, int n) {
        Map<List<String>, Integer> out = new HashMap<>();
        for (int i = 0; i + n <= tokens.size(); i++) {
            out.merge(tokens.subList(i, i + n), 1, Integer::sum);
        }
        return out;
    }

    /** BLEU on the 0-100 scale. */
    public static double score(String hypothesis, String reference) {
        return score(stats(hypothesis, reference));
    }

    /** sacrebleu's compute_bleu with exp smoothing. */
    public static double score(Stats s) {
        boolean anyMatch = false;
        for (int c : s.correct()) {
            anyMatch |= c > 0;
        }
        if (!anyMatch) {
            return 0.0;
        }
        double[] precisions = new double[ORDER];
        double smooth = 1.0;
        for (int n = 1; n <= ORDER; n++) {
            if (s.total()[n - 1] == 0) {
                break;
            }
            if (s.correct()[n - 1] == 0) {
                smooth *= 2;
                precisions[n - 1] = 100.0 / (smooth * s.total()[n - 1]);
            } else {
                precisions[n - 1] = 100.0 * s.correct()[n - 1] / s.total()[n - 1];
            }
        }
        double bp = 1.0;
        if (s.sysLen() < s.refLen()) {
            bp = s.sysLen() > 0 ? Math.exp(1 - s.refLen() / (double) s.sysLen()) : 0.0;
        }
        double logSum = 0;
        for (double p : precisions) {
            logSum += p == 0.0 ? -9999999999.0 : Math.log(p);
        }
        return bp * Math.exp(logSum / ORDER);
    }
}
