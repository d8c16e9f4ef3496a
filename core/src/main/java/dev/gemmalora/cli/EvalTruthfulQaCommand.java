package dev.gemmalora.cli;

import dev.gemmalora.api.EvalListener;
import dev.gemmalora.api.EvalOptions;
import dev.gemmalora.api.EvalResult;
import dev.gemmalora.api.Evaluation;
import dev.gemmalora.eval.TruthfulQaData;
import dev.gemmalora.report.EvalReport;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ProgressBar;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

@Command(name = "truthfulqa", mixinStandardHelpOptions = true, showDefaultValues = true, sortOptions = false,
        description = {"Score the base model and each adapter on TruthfulQA as lm-evaluation-harness does, and write a comparison report.",
                "Writes <output>/<name>/results.jsonl and summary.json per model (base, then each adapter by folder name), "
                        + "then report.md and report.html. Rerunning with the same --output resumes."})
public class EvalTruthfulQaCommand implements Callable<Integer> {
    @Mixin
    protected EvalOptions options;

    @Override
    public Integer call() throws IOException {
        try (Console console = new Console()) {
            EvalResult result = new Evaluation(options, console).run(this::scoreAll);
            printTable(result);
            System.out.println("report: " + result.reportHtml() + " and " + result.reportMd());
        }
        return 0;
    }

    /** Scores every model: in this process. A cluster job spreads the questions over its executors. */
    protected List<EvalReport.Scored> scoreAll(Evaluation evaluation, Map<String, String> names, List<TruthfulQaData.Question> questions,
                                               Set<String> taskSet) throws IOException {
        return evaluation.scoreLocally(names, questions, taskSet);
    }

    private static void printTable(EvalResult result) {
        StringBuilder sb = new StringBuilder(String.format("%-12s", "metric"));
        result.models().forEach(n -> sb.append(String.format(" %12s", n)));
        System.out.println(sb);
        for (String metric : result.metrics().get(result.models().get(0)).keySet()) {
            StringBuilder r = new StringBuilder(String.format("%-12s", metric));
            result.models().forEach(n -> r.append(String.format(" %12.4f", result.metrics().get(n).get(metric))));
            System.out.println(r);
        }
    }

    /** One progress bar per model, with tokens/s. */
    private static final class Console implements EvalListener, AutoCloseable {
        private ProgressBar bar;

        @Override
        public void onMessage(String line) {
            System.out.println(line);
        }

        @Override
        public void onModelStart(String name, int total, int done) {
            bar = Progress.start(name, total, done, Duration.ZERO);
        }

        @Override
        public void onQuestion(String name, double tokensPerSecond) {
            bar.step();
            bar.setExtraMessage(String.format("%.0f tok/s", tokensPerSecond));
        }

        @Override
        public void onModelEnd(String name) {
            close();
        }

        @Override
        public void close() {
            if (bar != null) {
                bar.close();
                bar = null;
            }
        }
    }
}
