package dev.gemmalora.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * g[r, cols] += v[T, r]^T m[T, cols] for a small r: the weight gradients of LoRA's factors
 * (dA += du^T xd, dB^T += u^T dy). As a GEMM the rank would be the token side of the 6 x 16
 * kernel (8 rows run as 6 + 2, the 2 costing as much as the 6) after transposing v and packing
 * all of m; here m is read in place, row by row, against four rank rows at a time in registers.
 */
public final class TransposedProduct {
    private static final VectorSpecies<Float> F = Simd.F;
    private static final int LANES = F.length();
    /** Columns per register block (two vectors) and per task. */
    private static final int NR = 2 * LANES;
    private static final int COLS_PER_TASK = 8 * NR;

    private TransposedProduct() {
    }

    public static void add(float[] v, int r, float[] m, int tokens, int cols, float[] g) {
        if (v.length < (long) tokens * r || m.length < (long) tokens * cols || g.length < (long) r * cols) {
            throw new IllegalArgumentException("transposed product operands too small for " + tokens + " x " + r + " and "
                    + tokens + " x " + cols);
        }
        int tasks = (cols + COLS_PER_TASK - 1) / COLS_PER_TASK;
        Gemm.forTasks((long) tokens * r * cols, tasks, b -> {
            int c1 = Math.min(cols, (b + 1) * COLS_PER_TASK);
            int c = b * COLS_PER_TASK;
            for (; c + NR <= c1; c += NR) {
                int j = 0;
                for (; j + 4 <= r; j += 4) {
                    block4(v, r, j, m, tokens, cols, c, g);
                }
                for (; j < r; j++) {
                    block1(v, r, j, m, tokens, cols, c, g);
                }
            }
            for (; c < c1; c++) {
                for (int j = 0; j < r; j++) {
                    float s = 0;
                    for (int t = 0; t < tokens; t++) {
                        s += v[t * r + j] * m[t * cols + c];
                    }
                    g[j * cols + c] += s;
                }
            }
        });
    }

    /** Rank rows j..j+3 against columns c..c+15: eight accumulators. */
    private static void block4(float[] v, int r, int j, float[] m, int tokens, int cols, int c, float[] g) {
        FloatVector a00 = FloatVector.zero(F), a01 = a00, a10 = a00, a11 = a00;
        FloatVector a20 = a00, a21 = a00, a30 = a00, a31 = a00;
        for (int t = 0, vi = j, mi = c; t < tokens; t++, vi += r, mi += cols) {
            FloatVector m0 = FloatVector.fromArray(F, m, mi);
            FloatVector m1 = FloatVector.fromArray(F, m, mi + LANES);
            FloatVector b = FloatVector.broadcast(F, v[vi]);
            a00 = b.fma(m0, a00);
            a01 = b.fma(m1, a01);
            b = FloatVector.broadcast(F, v[vi + 1]);
            a10 = b.fma(m0, a10);
            a11 = b.fma(m1, a11);
            b = FloatVector.broadcast(F, v[vi + 2]);
            a20 = b.fma(m0, a20);
            a21 = b.fma(m1, a21);
            b = FloatVector.broadcast(F, v[vi + 3]);
            a30 = b.fma(m0, a30);
            a31 = b.fma(m1, a31);
        }
        addInto(g, j * cols + c, a00, a01);
        addInto(g, (j + 1) * cols + c, a10, a11);
        addInto(g, (j + 2) * cols + c, a20, a21);
        addInto(g, (j + 3) * cols + c, a30, a31);
    }

    /** One rank row j against columns c..c+15 (ranks that are not a multiple of four). */
    private static void block1(float[] v, int r, int j, float[] m, int tokens, int cols, int c, float[] g) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0;
        for (int t = 0, vi = j, mi = c; t < tokens; t++, vi += r, mi += cols) {
            FloatVector b = FloatVector.broadcast(F, v[vi]);
            a0 = b.fma(FloatVector.fromArray(F, m, mi), a0);
            a1 = b.fma(FloatVector.fromArray(F, m, mi + LANES), a1);
        }
        addInto(g, j * cols + c, a0, a1);
    }

    private static void addInto(float[] g, int off, FloatVector lo, FloatVector hi) {
        FloatVector.fromArray(F, g, off).add(lo).intoArray(g, off);
        FloatVector.fromArray(F, g, off + LANES).add(hi).intoArray(g, off + LANES);
    }
}
