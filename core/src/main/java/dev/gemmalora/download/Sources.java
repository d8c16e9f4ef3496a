package dev.gemmalora.download;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gemmalora.io.Json;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

/** Where models and datasets come from, as lists of files to fetch (with checksums where published). */
public final class Sources {
    public static final String HF = "https://huggingface.co";
    public static final String MODELSCOPE = "https://www.modelscope.cn";
    public static final String GITHUB_RAW = "https://raw.githubusercontent.com";

    /** The files a Gemma checkpoint needs: weights, index, configs, tokenizer, chat template (Gemma 3 may keep it apart). */
    public static final Predicate<String> MODEL_FILES = f -> !f.contains("/") && (f.endsWith(".safetensors")
            || f.equals("model.safetensors.index.json") || f.equals("config.json") || f.equals("generation_config.json")
            || f.startsWith("tokenizer") || f.equals("special_tokens_map.json") || f.startsWith("chat_template."));

    private Sources() {
    }

    private static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    /** Files of a Hugging Face Hub repository (kind "models" or "datasets"), with LFS SHA-256 and sizes. */
    public static List<Fetcher.Item> huggingFace(Fetcher f, String endpoint, String kind, String repo, String revision,
                                                 Predicate<String> wanted, Path out) throws IOException {
        JsonNode info = Json.MAPPER.readTree(f.getText(URI.create(endpoint + "/api/" + kind + "/" + repo + "/revision/"
                + enc(revision) + "?blobs=true")));
        String prefix = endpoint + (kind.equals("datasets") ? "/datasets/" : "/") + repo + "/resolve/" + enc(revision) + "/";
        List<Fetcher.Item> items = new ArrayList<>();
        for (JsonNode s : info.path("siblings")) {
            String name = s.path("rfilename").asText();
            if (!wanted.test(name)) {
                continue;
            }
            JsonNode lfs = s.path("lfs");
            items.add(new Fetcher.Item(URI.create(prefix + name), out.resolve(name),
                    lfs.has("sha256") ? lfs.get("sha256").asText() : null,
                    lfs.has("size") ? lfs.get("size").asLong() : s.path("size").asLong(-1)));
        }
        if (items.isEmpty()) {
            throw new DownloadException(endpoint + ": repository " + repo + " has none of the expected files");
        }
        return items;
    }

    /** Files of a ModelScope model repository, with their SHA-256 and sizes. */
    public static List<Fetcher.Item> modelScope(Fetcher f, String endpoint, String repo, String revision,
                                                Predicate<String> wanted, Path out) throws IOException {
        JsonNode info = Json.MAPPER.readTree(f.getText(URI.create(endpoint + "/api/v1/models/" + repo + "/repo/files?Revision="
                + enc(revision) + "&Recursive=true")));
        List<Fetcher.Item> items = new ArrayList<>();
        for (JsonNode file : info.path("Data").path("Files")) {
            String path = file.path("Path").asText();
            if (!"blob".equals(file.path("Type").asText("blob")) || !wanted.test(path)) {
                continue;
            }
            items.add(new Fetcher.Item(URI.create(endpoint + "/api/v1/models/" + repo + "/repo?Revision=" + enc(revision)
                    + "&FilePath=" + enc(path)), out.resolve(path),
                    file.hasNonNull("Sha256") && !file.get("Sha256").asText().isEmpty() ? file.get("Sha256").asText() : null,
                    file.path("Size").asLong(-1)));
        }
        if (items.isEmpty()) {
            throw new DownloadException(endpoint + ": repository " + repo + " has none of the expected files");
        }
        return items;
    }

    /** A file from a GitHub repository's raw content (GitHub publishes no checksum). */
    public static Fetcher.Item gitHub(String endpoint, String ownerRepo, String branch, String path, Path target) {
        return new Fetcher.Item(URI.create(endpoint + "/" + ownerRepo + "/" + branch + "/" + path), target, null, -1);
    }
}
