package dev.gemmalora.server;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gemmalora.api.Completion;
import dev.gemmalora.io.Json;

/** The OpenAI API's response objects: chat.completion, text_completion, their stream chunks, usage, errors. */
final class OpenAiJson {
    private OpenAiJson() {
    }

    /** One line of JSON: a server-sent event's data must not span lines. */
    static String compact(Object value) {
        try {
            return Json.MAPPER.writer().without(SerializationFeature.INDENT_OUTPUT).writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The fields every response and chunk starts with. */
    static ObjectNode head(String id, String object, long created, String model) {
        ObjectNode o = Json.MAPPER.createObjectNode();
        o.put("id", id);
        o.put("object", object);
        o.put("created", created);
        o.put("model", model);
        return o;
    }

    static ObjectNode usage(Completion c) {
        ObjectNode u = Json.MAPPER.createObjectNode();
        u.put("prompt_tokens", c.promptTokens());
        u.put("completion_tokens", c.completionTokens());
        u.put("total_tokens", c.promptTokens() + c.completionTokens());
        return u;
    }

    static ObjectNode chatCompletion(String id, long created, String model, Completion c) {
        ObjectNode o = head(id, "chat.completion", created, model);
        ObjectNode choice = o.putArray("choices").addObject();
        choice.put("index", 0);
        ObjectNode message = choice.putObject("message");
        message.put("role", "assistant");
        message.put("content", c.text());
        message.putNull("refusal");
        choice.putNull("logprobs");
        choice.put("finish_reason", c.finishReason().openAiName());
        o.set("usage", usage(c));
        return o;
    }

    /** A chat stream chunk: delta holds the role (first chunk) or content; finish is null until the last. */
    static ObjectNode chatChunk(String id, long created, String model, String role, String content, String finish) {
        ObjectNode o = head(id, "chat.completion.chunk", created, model);
        ObjectNode choice = o.putArray("choices").addObject();
        choice.put("index", 0);
        ObjectNode delta = choice.putObject("delta");
        if (role != null) {
            delta.put("role", role);
        }
        if (content != null) {
            delta.put("content", content);
        }
        choice.putNull("logprobs");
        choice.put("finish_reason", finish);
        return o;
    }

    static ObjectNode textCompletion(String id, long created, String model, Completion c) {
        ObjectNode o = textChunk(id, created, model, c.text(), c.finishReason().openAiName());
        o.set("usage", usage(c));
        return o;
    }

    static ObjectNode textChunk(String id, long created, String model, String text, String finish) {
        ObjectNode o = head(id, "text_completion", created, model);
        ObjectNode choice = o.putArray("choices").addObject();
        choice.put("index", 0);
        choice.put("text", text);
        choice.putNull("logprobs");
        choice.put("finish_reason", finish);
        return o;
    }

    /** The chunk that closes a stream with usage when stream_options.include_usage asks for it: no choices. */
    static ObjectNode usageChunk(String id, String object, long created, String model, Completion c) {
        ObjectNode o = head(id, object, created, model);
        o.putArray("choices");
        o.set("usage", usage(c));
        return o;
    }

    static ObjectNode error(OpenAiError e) {
        ObjectNode o = Json.MAPPER.createObjectNode();
        ObjectNode err = o.putObject("error");
        err.put("message", e.getMessage());
        err.put("type", e.type);
        err.put("param", e.param);
        err.put("code", e.code);
        return o;
    }

    static ObjectNode model(String id, long created, String parent) {
        ObjectNode m = Json.MAPPER.createObjectNode();
        m.put("id", id);
        m.put("object", "model");
        m.put("created", created);
        m.put("owned_by", "gemma-lora");
        if (parent != null) {
            m.put("parent", parent);
        }
        return m;
    }

    static ObjectNode list(ArrayNode data) {
        ObjectNode o = Json.MAPPER.createObjectNode();
        o.put("object", "list");
        o.set("data", data);
        return o;
    }
}
