package dev.gemmalora.model;

import java.util.Arrays;

/**
 * How the new tokens of each batch row follow one another when they form a prefix tree rather
 * than one sequence: parent[b][i] is the index in row b of the token that token i continues,
 * {@link #ROOT} for a token that follows the cache directly, or {@link #PAD} for padding. A token
 * sits at the position after its parent's and attends to the cache and to its own ancestors only,
 * so every path from the root computes exactly what that path alone as a sequence would. Scoring
 * answers that share their first words runs the shared words once.
 */
public final class TokenTree {
    public static final int ROOT = -1;
    public static final int PAD = -2;
    private final int[][] parent;
    private final int[][] depth;

    /** Parents must precede their children in each row. */
    public TokenTree(int[][] parent) {
        this.parent = parent;
        depth = new int[parent.length][];
        for (int b = 0; b < parent.length; b++) {
            depth[b] = new int[parent[b].length];
            for (int i = 0; i < parent[b].length; i++) {
                int p = parent[b][i];
                if (p >= i || p < PAD || (p >= 0 && parent[b][p] == PAD)) {
                    throw new IllegalArgumentException("row " + b + " token " + i + ": parent " + p
                            + " must be an earlier real token, ROOT or PAD");
                }
                depth[b][i] = p >= 0 ? depth[b][p] + 1 : 0;
            }
        }
    }

    int parent(int row, int token) {
        return parent[row][token];
    }

    /** Position of a token relative to the first position after the cache. */
    int depth(int row, int token) {
        return depth[row][token];
    }

    boolean isPad(int row, int token) {
        return parent[row][token] == PAD;
    }

    /** 1 for real tokens, 0 for padding, as the cache records it. */
    int[][] mask() {
        int[][] m = new int[parent.length][];
        for (int b = 0; b < parent.length; b++) {
            m[b] = Arrays.stream(parent[b]).map(p -> p == PAD ? 0 : 1).toArray();
        }
        return m;
    }

    /** Indices in B*T of the real tokens, or null when there is no padding. */
    int[] realRows() {
        int tokens = parent[0].length;
        int[] rows = new int[parent.length * tokens];
        int n = 0;
        for (int b = 0; b < parent.length; b++) {
            for (int i = 0; i < tokens; i++) {
                if (parent[b][i] != PAD) {
                    rows[n++] = b * tokens + i;
                }
            }
        }
        return n == rows.length ? null : Arrays.copyOf(rows, n);
    }

    /** Absolute positions of the tokens of every row, flattened [B*T], for RoPE. */
    int[] positions(int pos0) {
        int tokens = parent[0].length;
        int[] pos = new int[parent.length * tokens];
        for (int b = 0; b < parent.length; b++) {
            for (int i = 0; i < tokens; i++) {
                pos[b * tokens + i] = pos0 + depth[b][i];
            }
        }
        return pos;
    }
}
