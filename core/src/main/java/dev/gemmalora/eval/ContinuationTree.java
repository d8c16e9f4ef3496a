package dev.gemmalora.eval;

import dev.gemmalora.model.TokenTree;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * One context and its continuations as a single prefix tree of input tokens: the context's own
 * tokens as a trunk, then one node per distinct continuation prefix. Answers that begin alike
 * ("No, ", "The ") share their first nodes, so each shared token is run, and its vocabulary
 * projected, once. Node i predicts the next token of every continuation that passes through it.
 */
final class ContinuationTree {
    /** A continuation token to score: request `request` gains log p(target | node's path). */
    record Target(int request, int target) {
    }

    private final List<Integer> tokens = new ArrayList<>();
    private final List<Integer> parents = new ArrayList<>();
    /** Targets scored from each node's output, by node index; the trunk's last node scores first tokens. */
    private final List<List<Target>> targets = new ArrayList<>();
    private final Map<Long, Integer> children = new HashMap<>();
    private final int trunkEnd;
    private final boolean afterPrefix;

    /**
     * The trunk: own[i] follows own[i - 1], own[0] follows the shared prefix's cache when
     * afterPrefix, else nothing.
     */
    ContinuationTree(int[] own, boolean afterPrefix) {
        this.afterPrefix = afterPrefix;
        if (own.length == 0) {
            throw new IllegalArgumentException("a context needs at least one token after the cached prefix");
        }
        for (int i = 0; i < own.length; i++) {
            add(own[i], i == 0 ? TokenTree.ROOT : i - 1);
        }
        trunkEnd = own.length - 1;
    }

    private int add(int token, int parent) {
        tokens.add(token);
        parents.add(parent);
        targets.add(new ArrayList<>());
        return tokens.size() - 1;
    }

    /** Adds a continuation: its token k is scored from the node of tokens 0..k-1 (k = 0: the trunk's end). */
    void addContinuation(int request, int[] continuation) {
        int node = trunkEnd;
        for (int k = 0; k < continuation.length; k++) {
            targets.get(node).add(new Target(request, continuation[k]));
            if (k + 1 < continuation.length) {
                node = child(node, continuation[k]);
            }
        }
    }

    private int child(int parent, int token) {
        long key = ((long) parent << 32) | (token & 0xffffffffL);
        Integer c = children.get(key);
        if (c == null) {
            c = add(token, parent);
            children.put(key, c);
        }
        return c;
    }

    boolean afterPrefix() {
        return afterPrefix;
    }

    int size() {
        return tokens.size();
    }

    /** Writes this tree's ids and parents into a batch row of width len; the rest is padding. */
    void fill(int[] ids, int[] parent) {
        for (int i = 0; i < ids.length; i++) {
            ids[i] = i < tokens.size() ? tokens.get(i) : 0;
            parent[i] = i < tokens.size() ? parents.get(i) : TokenTree.PAD;
        }
    }

    /** Nodes whose next-token distribution some continuation needs. */
    long scoredNodes() {
        return targets.stream().filter(t -> !t.isEmpty()).count();
    }

    List<Target> targets(int node) {
        return targets.get(node);
    }
}
