package dev.gemmalora.eval;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gemmalora.io.Json;
import dev.gemmalora.model.GemmaModel;
import dev.gemmalora.tokenizer.Tokenizer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Scores TruthfulQA questions on one model: MC1/MC2 (and the 2025 binary task) by lm-eval's
 * log-likelihood protocol, generation by greedy decoding with BLEU/ROUGE. Each question's context
 * runs once; a choice shared by several tasks is scored once; the primer's KV cache is reused.
 */
public final class TruthfulQaEval {
    public static final List<String> TASKS = List.of("mc1", "mc2", "gen", "binary");
    public static final int GEN_MAX_TOKENS = 256;
    /** Questions per scoring batch: about 300 positions, enough for the GEMMs to run near their best. */
    public static final int DEFAULT_BATCH = 4;
    private static final String GEN_STOP = "\n\n";

    private final GemmaModel model;
    private final Tokenizer tokenizer;
    private final TruthfulQaPrompt prompt;
    private final Set<String> tasks;
    private final LogLikelihood scorer;
    private final int batch;
    private final Set<Integer> stopIds = new HashSet<>();
    /** Greedy decoding after the generation primer's cached prefix; null without the gen task. */
    private final Generator generator;
    private final long genPrimerPositions;

    public TruthfulQaEval(GemmaModel model, Tokenizer tokenizer, Set<String> tasks, boolean chatTemplate, int batch) {
        this.model = model;
        this.tokenizer = tokenizer;
        this.prompt = new TruthfulQaPrompt(tokenizer, chatTemplate);
        this.tasks = tasks;
        this.scorer = new LogLikelihood(model, batch);
        this.batch = batch;
        stopIds.add(tokenizer.tokenId("<eos>"));
        if (chatTemplate) {
            stopIds.add(tokenizer.tokenId("<end_of_turn>"));
        }
        if (tasks.contains("mc1") || tasks.contains("mc2") || tasks.contains("binary")) {
            scorer.setPrefix(sharedPrefix(prompt.encodePrompt(prompt.mcContext("A")), prompt.encodePrompt(prompt.mcContext("B"))));
        }
        if (tasks.contains("gen")) {
            PrefixCache primer = PrefixCache.run(model,
                    sharedPrefix(prompt.encodePrompt(prompt.genPrompt("A")), prompt.encodePrompt(prompt.genPrompt("B"))));
            generator = new Generator(model, primer);
            genPrimerPositions = primer.length();
        } else {
            generator = null;
            genPrimerPositions = 0;
        }
    }

    /** Token positions run through the transformer so far (the primer and generation included). */
    public long positions() {
        return scorer.positions() + genPrimerPositions + (generator == null ? 0 : generator.positions());
    }

    private static int[] sharedPrefix(int[] a, int[] b) {
        int n = 0;
        while (n < a.length && n < b.length && a[n] == b[n]) {
            n++;
        }
        return java.util.Arrays.copyOf(a, n);
    }

    /**
     * Scores the questions `batch` at a time, handing each row to done as its batch completes (so a
     * caller can append it to a results file before the next batch starts).
     */
    public void evaluateAll(List<TruthfulQaData.Question> questions, Consumer<ObjectNode> done) {
        for (int i = 0; i < questions.size(); i += batch) {
            evaluate(questions.subList(i, Math.min(questions.size(), i + batch))).forEach(done);
        }
    }

    /** The results row of one question. */
    public ObjectNode evaluate(TruthfulQaData.Question q) {
        return evaluate(List.of(q)).get(0);
    }

    /**
     * The results rows of several questions, whose answer choices are scored in shared batches
     * (bigger GEMMs), and whose completions are decoded together. A row's "seconds" is its share
     * of the batch's scoring time plus its share of the batch's generation time, each by positions.
     */
    public List<ObjectNode> evaluate(List<TruthfulQaData.Question> questions) {
        long t0 = System.nanoTime();
        List<ObjectNode> rows = new ArrayList<>();
        List<Map<String, TruthfulQaData.Targets>> mcs = new ArrayList<>();
        List<List<String>> uniques = new ArrayList<>();
        List<List<LogLikelihood.Request>> groups = new ArrayList<>();
        for (TruthfulQaData.Question q : questions) {
            ObjectNode row = Json.MAPPER.createObjectNode();
            row.put("index", q.index());
            row.put("question", q.question());
            row.put("category", q.category());
            rows.add(row);
            Map<String, TruthfulQaData.Targets> mc = new LinkedHashMap<>();
            if (tasks.contains("mc1")) {
                mc.put("mc1_targets", q.mc1());
            }
            if (tasks.contains("mc2")) {
                mc.put("mc2_targets", q.mc2());
            }
            if (tasks.contains("binary")) {
                mc.put("mc0_targets", q.mc0());
            }
            mcs.add(mc);
            String context = prompt.mcContext(q.question());
            List<String> unique = new ArrayList<>();
            mc.values().forEach(t -> t.choices().stream().filter(c -> !unique.contains(c)).forEach(unique::add));
            uniques.add(unique);
            List<LogLikelihood.Request> requests = new ArrayList<>();
            for (String choice : unique) {
                TruthfulQaPrompt.Pair p = prompt.encodePair(context, " " + choice);
                requests.add(new LogLikelihood.Request(p.context(), p.continuation()));
            }
            groups.add(requests);
        }
        List<LogLikelihood.Scored> scored = scorer.scoreGroups(groups);
        double mcSeconds = (System.nanoTime() - t0) / 1e9;
        long mcPositions = Math.max(1, scored.stream().mapToLong(LogLikelihood.Scored::positions).sum());
        long t1 = System.nanoTime();
        List<Completion> completions = generator == null ? null : generate(questions);
        double genSeconds = (System.nanoTime() - t1) / 1e9;
        long genPositions = completions == null ? 1 : Math.max(1, completions.stream().mapToLong(Completion::positions).sum());
        for (int i = 0; i < questions.size(); i++) {
            ObjectNode row = rows.get(i);
            LogLikelihood.Scored sc = scored.get(i);
            long lmEvalPositions = mcRows(row, mcs.get(i), uniques.get(i), groups.get(i), sc.results());
            long ownGen = 0;
            if (completions != null) {
                Completion c = completions.get(i);
                row.put("generation", c.text());
                GenMetrics.score(c.text(), questions.get(i).trueRefs(), questions.get(i).falseRefs()).aggregates().forEach(row::put);
                ownGen = c.positions();
            }
            row.put("positions", sc.positions() + ownGen);
            row.put("logit_positions", sc.logitPositions());
            row.put("lm_eval_positions", lmEvalPositions);
            row.put("seconds", mcSeconds * sc.positions() / mcPositions + genSeconds * ownGen / genPositions);
        }
        return rows;
    }

    /** Puts each task's log-likelihoods, greedy flags and score into row; returns lm-eval's position count. */
    private static long mcRows(ObjectNode row, Map<String, TruthfulQaData.Targets> mc, List<String> unique,
                               List<LogLikelihood.Request> requests, List<LogLikelihood.Result> results) {
        long lmEvalPositions = 0;
        for (var e : mc.entrySet()) {
            TruthfulQaData.Targets t = e.getValue();
            double[] lls = new double[t.choices().size()];
            ObjectNode node = row.putObject(e.getKey());
            ArrayNode ll = node.putArray("loglik");
            ArrayNode greedy = node.putArray("is_greedy");
            for (int c = 0; c < lls.length; c++) {
                int u = unique.indexOf(t.choices().get(c));
                LogLikelihood.Result r = results.get(u);
                lls[c] = r.logLik();
                ll.add(r.logLik());
                greedy.add(r.greedy());
                if (!e.getKey().equals("mc0_targets")) {
                    LogLikelihood.Request req = requests.get(u);
                    lmEvalPositions += req.context().length + req.continuation().length - 1;
                }
            }
            switch (e.getKey()) {
                case "mc1_targets" -> row.put("mc1", McMetrics.mc1(lls));
                case "mc2_targets" -> row.put("mc2", McMetrics.mc2(lls, t.labels()));
                default -> row.put("binary", McMetrics.mc1(lls));
            }
        }
        return lmEvalPositions;
    }

    /** A question's completion and the positions its generation ran. */
    private record Completion(String text, long positions) {
    }

    /**
     * Greedy completions of the questions, decoded together, each cut at the first blank line as
     * lm-eval's until=["\n\n"] does (a question's decoding stops there).
     */
    private List<Completion> generate(List<TruthfulQaData.Question> questions) {
        List<int[]> prompts = new ArrayList<>();
        List<List<Integer>> tokens = new ArrayList<>();
        String[] text = new String[questions.size()];
        for (TruthfulQaData.Question q : questions) {
            prompts.add(prompt.encodePrompt(prompt.genPrompt(q.question())));
            tokens.add(new ArrayList<>());
        }
        List<Generator.Generation> made = generator.generateAll(prompts, GEN_MAX_TOKENS, stopIds,
                Collections.nCopies(prompts.size(), Generator.GREEDY), (row, tok) -> {
            tokens.get(row).add(tok);
            text[row] = tokenizer.decode(tokens.get(row).stream().mapToInt(Integer::intValue).toArray(), true);
            return !text[row].contains(GEN_STOP);
        });
        List<Completion> out = new ArrayList<>();
        for (int i = 0; i < questions.size(); i++) {
            String t = text[i] == null ? "" : text[i];
            int cut = t.indexOf(GEN_STOP);
            out.add(new Completion(cut >= 0 ? t.substring(0, cut) : t, made.get(i).positions()));
        }
        return out;
    }
}
