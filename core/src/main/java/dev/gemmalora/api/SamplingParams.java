package dev.gemmalora.api;

import java.util.List;

/**
 * How to pick the tokens of one generation, with the OpenAI API's meanings: at most maxTokens new
 * tokens (null: up to the model's context), temperature 0 for greedy, nucleus topP, topK as an
 * extension (0: all tokens), seed (null: a random one), and up to four stop strings, which end the
 * text before them.
 */
public record SamplingParams(Integer maxTokens, double temperature, double topP, int topK, Long seed, List<String> stop) {
    public SamplingParams {
        if (maxTokens != null && maxTokens < 1) {
            throw new InvalidRequestException("max_tokens", "max_tokens: " + maxTokens + ", expected at least 1");
        }
        if (!(temperature >= 0 && temperature <= 2)) {
            throw new InvalidRequestException("temperature", "temperature: " + temperature + ", expected 0 to 2");
        }
        if (!(topP > 0 && topP <= 1)) {
            throw new InvalidRequestException("top_p", "top_p: " + topP + ", expected more than 0 and at most 1");
        }
        if (topK < 0) {
            throw new InvalidRequestException("top_k", "top_k: " + topK + ", expected 0 (all tokens) or more");
        }
        stop = stop == null ? List.of() : List.copyOf(stop);
        if (stop.size() > 4 || stop.stream().anyMatch(String::isEmpty)) {
            throw new InvalidRequestException("stop", "stop: up to 4 non-empty strings, got " + stop.size());
        }
    }

    /** The most likely token each step, up to maxTokens. */
    public static SamplingParams greedy(int maxTokens) {
        return new SamplingParams(maxTokens, 0, 1, 0, null, List.of());
    }

    /** Sampling at temperature with nucleus topP, up to maxTokens, reproducible by seed. */
    public static SamplingParams sample(int maxTokens, double temperature, double topP, long seed) {
        return new SamplingParams(maxTokens, temperature, topP, 0, seed, List.of());
    }

    public SamplingParams withStop(List<String> strings) {
        return new SamplingParams(maxTokens, temperature, topP, topK, seed, strings);
    }
}
