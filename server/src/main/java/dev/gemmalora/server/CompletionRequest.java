package dev.gemmalora.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gemmalora.api.ChatMessage;
import dev.gemmalora.api.SamplingParams;
import dev.gemmalora.io.Json;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * The body of POST /v1/chat/completions or /v1/completions, checked field by field: a wrong type or
 * value is a 400 naming the field, never a stack trace.
 */
record CompletionRequest(String model, List<ChatMessage> messages, String prompt, SamplingParams params, boolean stream,
                         boolean includeUsage) {

    static CompletionRequest parseChat(byte[] body) {
        JsonNode n = object(body);
        JsonNode msgs = n.get("messages");
        if (msgs == null || !msgs.isArray() || msgs.isEmpty()) {
            throw OpenAiError.badRequest("messages", "'messages' must be a non-empty array of {\"role\", \"content\"} objects");
        }
        List<ChatMessage> messages = new ArrayList<>();
        for (int i = 0; i < msgs.size(); i++) {
            JsonNode m = msgs.get(i);
            String where = "messages[" + i + "]";
            if (!m.path("role").isTextual()) {
                throw OpenAiError.badRequest(where + ".role", where + ".role must be a string: user, assistant or system");
            }
            messages.add(new ChatMessage(m.get("role").asText(), content(m.get("content"), where + ".content")));
        }
        int max = optionalInt(n, "max_completion_tokens", optionalInt(n, "max_tokens", null));
        return new CompletionRequest(model(n), messages, null, params(n, max == 0 ? null : max), stream(n), includeUsage(n));
    }

    static CompletionRequest parseCompletion(byte[] body) {
        JsonNode n = object(body);
        JsonNode p = n.get("prompt");
        if (p != null && p.isArray() && p.size() == 1 && p.get(0).isTextual()) {
            p = p.get(0);
        }
        if (p == null || !p.isTextual()) {
            throw OpenAiError.badRequest("prompt", "'prompt' must be a string (one prompt per request here)");
        }
        // The legacy endpoint's default is 16 tokens.
        int max = optionalInt(n, "max_tokens", 16);
        return new CompletionRequest(model(n), null, p.asText(), params(n, max == 0 ? null : max), stream(n), includeUsage(n));
    }

    private static JsonNode object(byte[] body) {
        JsonNode n;
        try {
            n = Json.MAPPER.readTree(body);
        } catch (IOException e) {
            throw OpenAiError.badRequest(null, "the request body is not valid JSON: " + firstLine(e.getMessage()));
        }
        if (n == null || !n.isObject()) {
            throw OpenAiError.badRequest(null, "the request body must be a JSON object");
        }
        if (n.has("n") && !(n.get("n").isNull() || n.get("n").canConvertToInt() && n.get("n").asInt() == 1)) {
            throw OpenAiError.badRequest("n", "'n': only 1 choice per request is supported");
        }
        for (String unsupported : List.of("logprobs", "echo")) {
            if (n.path(unsupported).asBoolean(false)) {
                throw OpenAiError.badRequest(unsupported, "'" + unsupported + "' is not supported by this server");
            }
        }
        for (String penalty : List.of("frequency_penalty", "presence_penalty")) {
            if (n.has(penalty) && !n.get(penalty).isNull() && n.get(penalty).asDouble(1) != 0) {
                throw OpenAiError.badRequest(penalty, "'" + penalty + "' is not supported by this server (only 0)");
            }
        }
        if (n.path("tools").isArray() && !n.get("tools").isEmpty()) {
            throw OpenAiError.badRequest("tools", "'tools' is not supported by this server");
        }
        return n;
    }

    private static String firstLine(String s) {
        int nl = s == null ? -1 : s.indexOf('\n');
        return nl < 0 ? String.valueOf(s) : s.substring(0, nl);
    }

    private static String model(JsonNode n) {
        if (!n.path("model").isTextual()) {
            throw OpenAiError.badRequest("model", "'model' must be a string: the base model's or an adapter's name (GET /v1/models)");
        }
        return n.get("model").asText();
    }

    /** A message's content: a string, or an array of {"type": "text", "text"} parts joined. */
    private static String content(JsonNode c, String where) {
        if (c != null && c.isTextual()) {
            return c.asText();
        }
        if (c != null && c.isArray()) {
            StringBuilder sb = new StringBuilder();
            for (JsonNode part : c) {
                if (!part.path("type").asText().equals("text") || !part.path("text").isTextual()) {
                    throw OpenAiError.badRequest(where, where + ": only text parts ({\"type\": \"text\", \"text\": ...}) are supported");
                }
                sb.append(part.get("text").asText());
            }
            return sb.toString();
        }
        throw OpenAiError.badRequest(where, where + " must be a string or an array of text parts");
    }

    private static SamplingParams params(JsonNode n, Integer maxTokens) {
        double temperature = optionalNumber(n, "temperature", 1.0);
        double topP = optionalNumber(n, "top_p", 1.0);
        int topK = optionalInt(n, "top_k", 0);
        Long seed = n.hasNonNull("seed") ? optionalLong(n, "seed") : null;
        try {
            return new SamplingParams(maxTokens, temperature, topP, topK < 0 ? 0 : topK, seed, stop(n.get("stop")));
        } catch (dev.gemmalora.api.InvalidRequestException e) {
            throw OpenAiError.badRequest(e.param(), e.getMessage());
        }
    }

    private static List<String> stop(JsonNode s) {
        if (s == null || s.isNull()) {
            return List.of();
        }
        if (s.isTextual()) {
            return List.of(s.asText());
        }
        if (s.isArray()) {
            List<String> out = new ArrayList<>();
            for (JsonNode x : s) {
                if (!x.isTextual()) {
                    throw OpenAiError.badRequest("stop", "'stop' must be a string or an array of strings");
                }
                out.add(x.asText());
            }
            return out;
        }
        throw OpenAiError.badRequest("stop", "'stop' must be a string or an array of strings");
    }

    private static boolean stream(JsonNode n) {
        JsonNode s = n.get("stream");
        if (s != null && !s.isNull() && !s.isBoolean()) {
            throw OpenAiError.badRequest("stream", "'stream' must be true or false");
        }
        return s != null && s.asBoolean();
    }

    private static boolean includeUsage(JsonNode n) {
        return n.path("stream_options").path("include_usage").asBoolean(false);
    }

    private static double optionalNumber(JsonNode n, String field, double dflt) {
        JsonNode v = n.get(field);
        if (v == null || v.isNull()) {
            return dflt;
        }
        if (!v.isNumber()) {
            throw OpenAiError.badRequest(field, "'" + field + "' must be a number, got " + v);
        }
        return v.asDouble();
    }

    private static Integer optionalInt(JsonNode n, String field, Integer dflt) {
        JsonNode v = n.get(field);
        if (v == null || v.isNull()) {
            return dflt == null ? 0 : dflt;
        }
        if (!v.isIntegralNumber() || !v.canConvertToInt()) {
            throw OpenAiError.badRequest(field, "'" + field + "' must be an integer, got " + v);
        }
        if (v.asInt() < 0 && !field.equals("top_k")) {
            throw OpenAiError.badRequest(field, "'" + field + "' must not be negative, got " + v);
        }
        if (v.asInt() == 0 && field.startsWith("max_")) {
            throw OpenAiError.badRequest(field, "'" + field + "' must be at least 1");
        }
        return v.asInt();
    }

    private static long optionalLong(JsonNode n, String field) {
        JsonNode v = n.get(field);
        if (!v.isIntegralNumber() || !v.canConvertToLong()) {
            throw OpenAiError.badRequest(field, "'" + field + "' must be an integer, got " + v);
        }
        return v.asLong();
    }
}
