package dev.gemmalora.cli;

import dev.gemmalora.download.Fetcher;
import dev.gemmalora.download.HfTruthfulQa;
import dev.gemmalora.download.Sources;
import dev.gemmalora.io.InputException;
import java.io.IOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ProgressBar;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "download", mixinStandardHelpOptions = true,
        description = {"Download a model or the datasets. Partial files resume on rerun; SHA-256 is verified where the source publishes it.",
                "HF_TOKEN authorises gated Hugging Face models; HF_ENDPOINT points at a mirror."},
        subcommands = {DownloadCommand.Model.class, DownloadCommand.Alpaca.class, DownloadCommand.TruthfulQa.class})
final class DownloadCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    static Fetcher fetcher(boolean huggingFace) {
        Map<String, String> headers = new HashMap<>();
        String token = System.getenv("HF_TOKEN");
        if (huggingFace && token != null && !token.isBlank()) {
            headers.put("Authorization", "Bearer " + token.strip());
        }
        return new Fetcher(headers);
    }

    static String hfEndpoint(String override) {
        if (override != null) {
            return stripSlash(override);
        }
        String env = System.getenv("HF_ENDPOINT");
        return env != null && !env.isBlank() ? stripSlash(env) : Sources.HF;
    }

    static String stripSlash(String s) {
        return s.endsWith("/") ? s.substring(0, s.length() - 1) : s;
    }

    /** Fetches every item with a progress bar in MB each. */
    static void fetchAll(Fetcher f, List<Fetcher.Item> items) throws IOException {
        for (Fetcher.Item item : items) {
            ProgressBar[] bar = {null};
            f.fetch(item, new Fetcher.Progress() {
                @Override
                public void start(Fetcher.Item it, long total, long have) {
                    bar[0] = Progress.start(it.target().getFileName().toString(), Math.max(total, 0), have, java.time.Duration.ZERO);
                }

                @Override
                public void advance(long bytes) {
                    bar[0].stepBy(bytes);
                }

                @Override
                public void done(Fetcher.Item it, boolean skipped) {
                    if (bar[0] != null) {
                        bar[0].close();
                    }
                    System.out.println((skipped ? "already complete: " : "saved: ") + it.target()
                            + (it.sha256() != null ? " (SHA-256 verified)" : ""));
                }
            });
        }
    }

    @Command(name = "model", mixinStandardHelpOptions = true, showDefaultValues = true,
            description = "A Gemma checkpoint, Gemma 1, 2 or 3 (safetensors, config, tokenizer), from the Hugging Face Hub or ModelScope.")
    static final class Model implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "REPO", description = "Repository, e.g. google/gemma-2-2b-it, google/gemma-3-1b-it, google/gemma-2b-it (HF) or LLM-Research/gemma-2-2b-it (ModelScope).")
        String repo;

        @Option(names = "--output", required = true, paramLabel = "DIR", description = "Folder for the checkpoint.")
        Path output;

        @Option(names = "--source", defaultValue = "hf", paramLabel = "hf|modelscope", description = "Where to download from.")
        String source;

        @Option(names = "--revision", description = "Branch, tag or commit (default: main on HF, master on ModelScope).")
        String revision;

        @Option(names = "--endpoint", paramLabel = "URL", description = "Base URL of the source (default: HF_ENDPOINT or https://huggingface.co; https://www.modelscope.cn).")
        String endpoint;

        @Override
        public Integer call() throws IOException {
            List<Fetcher.Item> items;
            Fetcher f;
            switch (source) {
                case "hf" -> {
                    f = fetcher(true);
                    items = Sources.huggingFace(f, hfEndpoint(endpoint), "models", repo, revision != null ? revision : "main",
                            Sources.MODEL_FILES, output);
                }
                case "modelscope" -> {
                    f = fetcher(false);
                    items = Sources.modelScope(f, endpoint != null ? stripSlash(endpoint) : Sources.MODELSCOPE, repo,
                            revision != null ? revision : "master", Sources.MODEL_FILES, output);
                }
                default -> throw new InputException("--source is '" + source + "', expected hf or modelscope");
            }
            fetchAll(f, items);
            System.out.println("model ready: " + output + " (check it with: gemma-lora inspect --model " + output + " --no-tensors)");
            return 0;
        }
    }

    @Command(name = "alpaca", mixinStandardHelpOptions = true, showDefaultValues = true,
            description = "Alpaca-cleaned (51,760 records) as alpaca_data_cleaned.json: from GitHub gururise/AlpacaDataCleaned or HF yahma/alpaca-cleaned.")
    static final class Alpaca implements Callable<Integer> {
        @Option(names = "--output", required = true, paramLabel = "DIR", description = "Folder for alpaca_data_cleaned.json.")
        Path output;

        @Option(names = "--source", defaultValue = "github", paramLabel = "github|hf", description = "Where to download from.")
        String source;

        @Option(names = "--endpoint", paramLabel = "URL", description = "Base URL (default: https://raw.githubusercontent.com, or HF_ENDPOINT / https://huggingface.co).")
        String endpoint;

        @Override
        public Integer call() throws IOException {
            String file = "alpaca_data_cleaned.json";
            switch (source) {
                case "github" -> fetchAll(fetcher(false), List.of(Sources.gitHub(endpoint != null ? stripSlash(endpoint) : Sources.GITHUB_RAW,
                        "gururise/AlpacaDataCleaned", "main", file, output.resolve(file))));
                case "hf" -> {
                    Fetcher f = fetcher(true);
                    fetchAll(f, Sources.huggingFace(f, hfEndpoint(endpoint), "datasets", "yahma/alpaca-cleaned", "main",
                            file::equals, output));
                }
                default -> throw new InputException("--source is '" + source + "', expected github or hf");
            }
            return 0;
        }
    }

    @Command(name = "truthfulqa", mixinStandardHelpOptions = true, showDefaultValues = true,
            description = {"TruthfulQA, the 817-question originals that lm-eval uses and the 2025 revision.",
                    "From GitHub sylinrl/TruthfulQA: the 2025 revision (790 questions, binary task) into DIR and the originals into "
                            + "DIR/v0; or from HF truthfulqa/truthful_qa: the originals into DIR/v0."})
    static final class TruthfulQa implements Callable<Integer> {
        @Option(names = "--output", required = true, paramLabel = "DIR", description = "Folder for the files.")
        Path output;

        @Option(names = "--source", defaultValue = "github", paramLabel = "github|hf", description = "Where to download from.")
        String source;

        @Option(names = "--endpoint", paramLabel = "URL", description = "Base URL (default: https://raw.githubusercontent.com, or https://datasets-server.huggingface.co).")
        String endpoint;

        @Override
        public Integer call() throws IOException {
            switch (source) {
                case "github" -> {
                    String base = endpoint != null ? stripSlash(endpoint) : Sources.GITHUB_RAW;
                    String repo = "sylinrl/TruthfulQA";
                    fetchAll(fetcher(false), List.of(
                            Sources.gitHub(base, repo, "main", "TruthfulQA.csv", output.resolve("TruthfulQA.csv")),
                            Sources.gitHub(base, repo, "main", "data/mc_task.json", output.resolve("mc_task.json")),
                            Sources.gitHub(base, repo, "main", "data/v0/TruthfulQA.csv", output.resolve("v0/TruthfulQA.csv")),
                            Sources.gitHub(base, repo, "main", "data/v0/mc_task.json", output.resolve("v0/mc_task.json"))));
                    System.out.println("2025 revision (binary task): " + output + "; lm-eval's 817 questions (mc1, mc2, gen): " + output.resolve("v0"));
                }
                case "hf" -> {
                    HfTruthfulQa.download(fetcher(true), endpoint != null ? stripSlash(endpoint) : HfTruthfulQa.ROWS_API, output.resolve("v0"));
                    System.out.println("lm-eval's 817 questions (mc1, mc2, gen): " + output.resolve("v0"));
                }
                default -> throw new InputException("--source is '" + source + "', expected github or hf");
            }
            return 0;
        }
    }
}
