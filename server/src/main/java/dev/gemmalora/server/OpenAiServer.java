package dev.gemmalora.server;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gemmalora.api.BusyException;
import dev.gemmalora.api.Completion;
import dev.gemmalora.api.Generation;
import dev.gemmalora.api.InvalidRequestException;
import dev.gemmalora.api.LanguageModel;
import dev.gemmalora.api.UnknownAdapterException;
import dev.gemmalora.io.Json;
import io.javalin.Javalin;
import io.javalin.compression.CompressionStrategy;
import io.javalin.http.Context;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The OpenAI API over a {@link LanguageModel}: chat and text completions (streamed as server-sent
 * events or whole), the model list and a health check, on Javalin. The request's "model" picks the
 * base model or an adapter; every error is an OpenAI error object.
 */
public final class OpenAiServer implements AutoCloseable {
    private final LanguageModel model;
    private final byte[] apiKey;
    private final long created = System.currentTimeMillis() / 1000;
    private final Javalin app;
    private volatile boolean stopping;
    /** Completion requests being answered: close waits for them to write their last bytes. */
    private final AtomicInteger answering = new AtomicInteger();

    /** apiKey null: no authentication. */
    public OpenAiServer(LanguageModel model, String apiKey) {
        this.model = model;
        this.apiKey = apiKey == null ? null : apiKey.getBytes(StandardCharsets.UTF_8);
        this.app = Javalin.create(cfg -> {
            cfg.startup.showJavalinBanner = false;
            cfg.startup.showOldJavalinVersionWarning = false;
            // Compression would hold back the stream's events until a buffer fills.
            cfg.http.compressionStrategy = CompressionStrategy.NONE;
            cfg.routes.before(this::authenticate);
            cfg.routes.get("/health", ctx -> ctx.contentType("application/json").result(OpenAiJson.compact(health())));
            cfg.routes.get("/v1/models", ctx -> ctx.contentType("application/json").result(OpenAiJson.compact(models())));
            cfg.routes.post("/v1/chat/completions", ctx -> answering(() -> complete(ctx, CompletionRequest.parseChat(ctx.bodyAsBytes()), true)));
            cfg.routes.post("/v1/completions", ctx -> answering(() -> complete(ctx, CompletionRequest.parseCompletion(ctx.bodyAsBytes()), false)));
            cfg.routes.exception(OpenAiError.class, (e, ctx) -> answer(ctx, e));
            cfg.routes.exception(Exception.class, (e, ctx) -> answer(ctx, internal(e)));
            cfg.routes.error(404, ctx -> replaceError(ctx, "not_found_error", "no such endpoint: " + ctx.method() + " " + ctx.path()));
            cfg.routes.error(405, ctx -> replaceError(ctx, "invalid_request_error", ctx.method() + " is not allowed on " + ctx.path()));
            cfg.routes.error(413, ctx -> replaceError(ctx, "invalid_request_error", "the request body is too large"));
        });
    }

    /** Starts listening; returns the port (useful with port 0). */
    public int start(String host, int port) {
        app.start(host, port);
        return app.port();
    }

    /** New requests get 503 from now on; running ones go on. */
    public void refuseNewRequests() {
        stopping = true;
    }

    /** Stops listening once the requests being answered have written their last bytes (waiting at most 10 s). */
    @Override
    public void close() {
        stopping = true;
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (answering.get() > 0 && System.nanoTime() < deadline) {
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        app.stop();
    }

    private interface Answer {
        void run() throws Exception;
    }

    private void answering(Answer a) throws Exception {
        answering.incrementAndGet();
        try {
            a.run();
        } finally {
            answering.decrementAndGet();
        }
    }

    private ObjectNode health() {
        ObjectNode o = Json.MAPPER.createObjectNode();
        o.put("status", stopping ? "stopping" : "ok");
        o.put("active", model.activeGenerations());
        o.put("waiting", model.waitingGenerations());
        return o;
    }

    private ObjectNode models() {
        ArrayNode data = Json.MAPPER.createArrayNode();
        data.add(OpenAiJson.model(model.name(), created, null));
        model.adapterNames().forEach(a -> data.add(OpenAiJson.model(a, created, model.name())));
        return OpenAiJson.list(data);
    }

    private void authenticate(Context ctx) {
        if (apiKey == null || ctx.path().equals("/health")) {
            return;
        }
        String header = ctx.header("Authorization");
        byte[] given = header != null && header.startsWith("Bearer ") ? header.substring(7).getBytes(StandardCharsets.UTF_8) : new byte[0];
        if (!MessageDigest.isEqual(given, apiKey)) {
            throw new OpenAiError(401, "invalid_request_error", null, "invalid_api_key",
                    header == null ? "no API key: send the header 'Authorization: Bearer KEY'" : "incorrect API key");
        }
    }

    private void complete(Context ctx, CompletionRequest req, boolean chat) throws IOException, InterruptedException {
        if (stopping) {
            throw OpenAiError.unavailable("the server is shutting down");
        }
        String id = (chat ? "chatcmpl-" : "cmpl-") + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextLong());
        long now = System.currentTimeMillis() / 1000;
        EventStream events = new EventStream();
        Generation g;
        try {
            int[] prompt = chat ? model.chatPrompt(req.messages()) : model.textPrompt(req.prompt());
            Integer max = req.params().maxTokens();
            if (max != null && prompt.length + max > model.contextLength()) {
                throw new InvalidRequestException(chat ? "max_completion_tokens" : "max_tokens", "this model's context is "
                        + model.contextLength() + " tokens; the request asks for " + (prompt.length + max) + " (" + prompt.length
                        + " in the prompt, " + max + " for the reply)");
            }
            g = model.submit(req.model(), prompt, req.params(), events);
        } catch (UnknownAdapterException e) {
            throw new OpenAiError(404, "invalid_request_error", "model", "model_not_found", e.getMessage());
        } catch (InvalidRequestException e) {
            throw OpenAiError.badRequest(e.param(), e.getMessage());
        } catch (BusyException e) {
            throw stopping ? OpenAiError.unavailable(e.getMessage())
                    : new OpenAiError(429, "rate_limit_error", null, "rate_limit_exceeded", e.getMessage());
        }
        if (req.stream()) {
            stream(ctx, g, events, id, now, req, chat);
            return;
        }
        Completion c = g.await();
        if (c.finishReason() == Completion.FinishReason.CANCELLED) {
            throw OpenAiError.unavailable("the server stopped before the reply was complete");
        }
        ObjectNode body = chat ? OpenAiJson.chatCompletion(id, now, req.model(), c) : OpenAiJson.textCompletion(id, now, req.model(), c);
        ctx.status(200).contentType("application/json");
        // Written and closed here, not after the handler returns: a shutdown waits for this handler only.
        try (OutputStream out = ctx.res().getOutputStream()) {
            out.write(OpenAiJson.compact(body).getBytes(StandardCharsets.UTF_8));
        }
    }

    /**
     * Writes the generation as server-sent events as its text comes; a client that went away makes a
     * write fail, which cancels the generation (it leaves the batch at the next step).
     */
    private void stream(Context ctx, Generation g, EventStream events, String id, long now, CompletionRequest req, boolean chat)
            throws IOException, InterruptedException {
        ctx.status(200);
        ctx.contentType("text/event-stream");
        ctx.header("Cache-Control", "no-cache");
        OutputStream out = ctx.res().getOutputStream();
        String object = chat ? "chat.completion.chunk" : "text_completion";
        try {
            if (chat) {
                send(out, OpenAiJson.chatChunk(id, now, req.model(), "assistant", "", null));
            }
            while (true) {
                EventStream.Event e = events.next();
                if (e instanceof EventStream.Text t) {
                    send(out, chat ? OpenAiJson.chatChunk(id, now, req.model(), null, t.piece(), null)
                            : OpenAiJson.textChunk(id, now, req.model(), t.piece(), null));
                } else if (e instanceof EventStream.Finish f) {
                    Completion c = f.completion();
                    if (c.finishReason() == Completion.FinishReason.CANCELLED) {
                        send(out, OpenAiJson.error(OpenAiError.unavailable("the server stopped before the reply was complete")));
                    } else {
                        String reason = c.finishReason().openAiName();
                        send(out, chat ? OpenAiJson.chatChunk(id, now, req.model(), null, null, reason)
                                : OpenAiJson.textChunk(id, now, req.model(), "", reason));
                        if (req.includeUsage()) {
                            send(out, OpenAiJson.usageChunk(id, object, now, req.model(), c));
                        }
                    }
                    break;
                } else if (e instanceof EventStream.Failure f) {
                    send(out, OpenAiJson.error(internal(f.error())));
                    break;
                }
            }
            out.write("data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8));
            out.close();
        } catch (IOException gone) {
            g.cancel();
        }
    }

    private static void send(OutputStream out, ObjectNode event) throws IOException {
        out.write(("data: " + OpenAiJson.compact(event) + "\n\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    private static OpenAiError internal(Exception e) {
        System.err.println("error: " + e);
        return new OpenAiError(500, "server_error", null, null, "internal error: " + e.getClass().getSimpleName()
                + (e.getMessage() == null ? "" : ": " + e.getMessage().lines().findFirst().orElse("")));
    }

    private static void answer(Context ctx, OpenAiError e) {
        ctx.status(e.status).contentType("application/json").result(OpenAiJson.compact(OpenAiJson.error(e)));
    }

    /** Javalin's own 404/405/413 bodies, as OpenAI error objects (unless a handler already wrote one). */
    private static void replaceError(Context ctx, String type, String message) {
        if (!"application/json".equals(ctx.contentType())) {
            ctx.contentType("application/json").result(OpenAiJson.compact(OpenAiJson.error(new OpenAiError(ctx.statusCode(), type, null, null, message))));
        }
    }
}
