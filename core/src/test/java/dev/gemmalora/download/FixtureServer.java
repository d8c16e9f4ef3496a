package dev.gemmalora.download;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** A loopback HTTP server serving fixture bytes by path (query included), honouring Range requests. */
public final class FixtureServer implements AutoCloseable {
    private final HttpServer server;
    private final Map<String, byte[]> files = new ConcurrentHashMap<>();
    /** Every request as "METHOD path?query [Range: ...] [Authorization: ...]". */
    public final List<String> log = Collections.synchronizedList(new ArrayList<>());

    public FixtureServer() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", this::handle);
        server.start();
    }

    public String base() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    public void put(String pathAndQuery, byte[] body) {
        files.put(pathAndQuery, body);
    }

    public void put(String pathAndQuery, String body) {
        put(pathAndQuery, body.getBytes(StandardCharsets.UTF_8));
    }

    private void handle(HttpExchange ex) throws IOException {
        String key = ex.getRequestURI().getRawPath() + (ex.getRequestURI().getRawQuery() != null ? "?" + ex.getRequestURI().getRawQuery() : "");
        String range = ex.getRequestHeaders().getFirst("Range");
        log.add(ex.getRequestMethod() + " " + key + (range != null ? " Range: " + range : ""));
        byte[] body = files.get(key);
        if (body == null) {
            ex.sendResponseHeaders(404, -1);
            ex.close();
            return;
        }
        int start = 0;
        int status = 200;
        if (range != null && range.startsWith("bytes=")) {
            start = Integer.parseInt(range.substring(6, range.indexOf('-')));
            if (start >= body.length) {
                ex.sendResponseHeaders(416, -1);
                ex.close();
                return;
            }
            status = 206;
            ex.getResponseHeaders().add("Content-Range", "bytes " + start + "-" + (body.length - 1) + "/" + body.length);
        }
        ex.sendResponseHeaders(status, body.length - start);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(body, start, body.length - start);
        }
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
