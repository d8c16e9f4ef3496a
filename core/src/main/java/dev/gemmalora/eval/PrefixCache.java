package dev.gemmalora.eval;

import dev.gemmalora.model.GemmaModel;
import dev.gemmalora.model.KvCache;

/**
 * A token prefix run once, with its KV cache: prompts that start with it (the few-shot primer of
 * TruthfulQA, say) run only the tokens after it, on a copy of the cache.
 */
final class PrefixCache {
    private final int[] ids;
    private final KvCache cache;

    private PrefixCache(int[] ids, KvCache cache) {
        this.ids = ids;
        this.cache = cache;
    }

    /** Runs ids through the model once (nothing runs for an empty prefix). */
    static PrefixCache run(GemmaModel model, int[] ids) {
        KvCache cache = KvCache.forModel(model.config(), 1, ids.length);
        if (ids.length > 0) {
            model.forward(new int[][] {ids}, null, cache, null);
        }
        return new PrefixCache(ids.clone(), cache);
    }

    /** Tokens in the prefix: the positions {@link #run} cost. */
    int length() {
        return ids.length;
    }

    /** The prefix's length if tokens start with it and go on past it, else 0. */
    int sharedWith(int[] tokens) {
        if (ids.length == 0 || ids.length >= tokens.length) {
            return 0;
        }
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] != tokens[i]) {
                return 0;
            }
        }
        return ids.length;
    }

    /** rows copies of the prefix's cache, each with room for extraCapacity more positions. */
    KvCache fanOut(int rows, int extraCapacity) {
        return cache.fanOut(0, rows, extraCapacity, null);
    }

    /** {@link #fanOut(int, int)} into old when that fits ({@link KvCache#fanOut}), else into a new cache. */
    KvCache fanOut(int rows, int extraCapacity, KvCache old) {
        return cache.fanOut(0, rows, extraCapacity, old);
    }
}
