package dev.gemmalora.server;

/**
 * An error answered as the OpenAI API does: an HTTP status and
 * {"error": {"message", "type", "param", "code"}}.
 */
final class OpenAiError extends RuntimeException {
    final int status;
    final String type;
    final String param;
    final String code;

    OpenAiError(int status, String type, String param, String code, String message) {
        super(message);
        this.status = status;
        this.type = type;
        this.param = param;
        this.code = code;
    }

    static OpenAiError badRequest(String param, String message) {
        return new OpenAiError(400, "invalid_request_error", param, null, message);
    }

    /** 503: the server is stopping (a request refused, or a reply cut by the shutdown). */
    static OpenAiError unavailable(String message) {
        return new OpenAiError(503, "server_error", null, null, message);
    }
}
