package dev.gemmalora.download;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Map;
import java.util.function.LongConsumer;

/**
 * HTTP downloads that survive interruption: bytes go to FILE.part, a rerun asks the server for the
 * rest with a Range header, and the file gets its final name only when complete and, where the
 * source publishes a SHA-256, verified.
 */
public final class Fetcher {
    /** One file to fetch; sha256 and size may be unknown (null / -1). */
    public record Item(URI uri, Path target, String sha256, long size) {
    }

    /** Progress: called with the total bytes when known, then with each chunk's size. */
    public interface Progress {
        void start(Item item, long total, long alreadyHave);

        void advance(long bytes);

        void done(Item item, boolean skipped);
    }

    private final HttpClient client = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NORMAL)
            .connectTimeout(Duration.ofSeconds(30)).build();
    private final Map<String, String> headers;

    public Fetcher(Map<String, String> headers) {
        this.headers = headers;
    }

    /** GET uri as a string (small API answers). */
    public String getText(URI uri) throws IOException {
        HttpResponse<String> r = send(request(uri).build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 200) {
            throw new DownloadException(uri + ": HTTP " + r.statusCode() + hint(r.statusCode()));
        }
        return r.body();
    }

    public void fetch(Item item, Progress progress) throws IOException {
        Path target = item.target();
        if (Files.isRegularFile(target) && (item.size() < 0 || Files.size(target) == item.size())
                && (item.sha256() == null || item.sha256().equalsIgnoreCase(sha256(target)))) {
            progress.done(item, true);
            return;
        }
        Files.createDirectories(target.toAbsolutePath().getParent());
        Path part = target.resolveSibling(target.getFileName() + ".part");
        long have = Files.isRegularFile(part) ? Files.size(part) : 0;
        HttpRequest.Builder req = request(item.uri());
        if (have > 0) {
            req.header("Range", "bytes=" + have + "-");
        }
        HttpResponse<InputStream> r = send(req.build(), HttpResponse.BodyHandlers.ofInputStream());
        int code = r.statusCode();
        if (code == 416 && have > 0 && (item.size() < 0 || have == item.size())) {
            r.body().close();
        } else {
            if (code != 200 && code != 206) {
                r.body().close();
                throw new DownloadException(item.uri() + ": HTTP " + code + hint(code));
            }
            boolean append = code == 206;
            if (!append) {
                have = 0;
            }
            long total = r.headers().firstValueAsLong("Content-Length").orElse(-1);
            progress.start(item, total < 0 ? item.size() : total + have, have);
            try (InputStream in = r.body(); OutputStream out = Files.newOutputStream(part, StandardOpenOption.CREATE,
                    append ? StandardOpenOption.APPEND : StandardOpenOption.TRUNCATE_EXISTING)) {
                copy(in, out, progress::advance);
            }
        }
        if (item.size() >= 0 && Files.size(part) != item.size()) {
            throw new DownloadException(target + ": got " + Files.size(part) + " bytes, expected " + item.size()
                    + "; run the same command again to resume");
        }
        if (item.sha256() != null) {
            String got = sha256(part);
            if (!got.equalsIgnoreCase(item.sha256())) {
                Files.delete(part);
                throw new DownloadException(target + ": SHA-256 " + got + " does not match the source's " + item.sha256()
                        + "; the partial file was removed, run the command again");
            }
        }
        Files.move(part, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        progress.done(item, false);
    }

    private HttpRequest.Builder request(URI uri) {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri).timeout(Duration.ofMinutes(10)).header("User-Agent", "gemma-lora/0.1");
        headers.forEach(b::header);
        return b;
    }

    private <T> HttpResponse<T> send(HttpRequest req, HttpResponse.BodyHandler<T> handler) throws IOException {
        try {
            return client.send(req, handler);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        } catch (IOException e) {
            throw new DownloadException(req.uri() + ": " + (e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName())
                    + " (check the network, or set HF_ENDPOINT / --endpoint for a mirror)");
        }
    }

    private static String hint(int code) {
        return switch (code) {
            case 401, 403 -> " (gated or private: accept the model's licence on its page and set HF_TOKEN)";
            case 404 -> " (not found: check the repository name and revision)";
            default -> "";
        };
    }

    private static void copy(InputStream in, OutputStream out, LongConsumer onChunk) throws IOException {
        byte[] buf = new byte[1 << 16];
        int n;
        while ((n = in.read(buf)) > 0) {
            out.write(buf, 0, n);
            onChunk.accept(n);
        }
    }

    public static String sha256(Path file) {
        try (InputStream in = Files.newInputStream(file)) {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[1 << 20];
            int n;
            while ((n = in.read(buf)) > 0) {
                md.update(buf, 0, n);
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
