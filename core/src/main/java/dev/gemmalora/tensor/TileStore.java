package dev.gemmalora.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/** Writes a kernel's output tile into its place in the result, or adds it there. */
final class TileStore {
    private static final VectorSpecies<Float> F = Simd.F;
    private static final int LANES = Simd.LANES;
    private static final int NR = Weight.PANEL;
    /** Lane i of the low half of a row-pair column: even row i / 2, or (exceptional index) odd row i / 2. */
    private static final VectorShuffle<Float> ZIP_LOW = VectorShuffle.fromOp(F, i -> (i & 1) == 0 ? i / 2 : i / 2 - LANES);
    private static final VectorShuffle<Float> ZIP_HIGH = VectorShuffle.fromOp(F, i -> (i & 1) == 0 ? (i + LANES) / 2 : (i + LANES) / 2 - LANES);

    private TileStore() {
    }

    /** The first m rows and `valid` columns of a tile into y (adding unless first). */
    static void store(float[] tile, int m, int valid, float[] y, int y0, int ys, boolean first) {
        if (valid == NR) {
            storeFullTile(tile, m, y, y0, ys, first);
        } else {
            storeTile(tile, m, valid, y, y0, ys, first);
        }
    }

    /**
     * The first m rows of a tile, all NR columns, into y. Kept out of the kernel: inlined there,
     * the loads of y for the add were left as calls that box their vectors (the kernel had used up
     * C2's inlining budget). Not folded into {@link #storeTile}: with its variable column bound
     * that took 8% of a training step.
     */
    private static void storeFullTile(float[] tile, int m, float[] y, int y0, int ys, boolean first) {
        for (int i = 0; i < m; i++) {
            for (int h = 0; h < NR; h += LANES) {
                FloatVector c = FloatVector.fromArray(F, tile, i * NR + h);
                int off = y0 + i * ys + h;
                if (first) {
                    c.intoArray(y, off);
                } else {
                    c.add(FloatVector.fromArray(F, y, off)).intoArray(y, off);
                }
            }
        }
    }

    /**
     * The first m token rows and `valid` columns of an NR-wide tile into y (adding unless first):
     * whole vectors where they fit (the last token tile of a batch, LoRA's 8-row factors), the rest
     * by element. For one token, valid may reach 4 NR: four panels' results side by side.
     */
    static void storeTile(float[] tile, int m, int valid, float[] y, int y0, int ys, boolean first) {
        for (int i = 0; i < m; i++) {
            int r = 0;
            for (; r + LANES <= valid; r += LANES) {
                FloatVector c = FloatVector.fromArray(F, tile, i * NR + r);
                int off = y0 + i * ys + r;
                if (first) {
                    c.intoArray(y, off);
                } else {
                    c.add(FloatVector.fromArray(F, y, off)).intoArray(y, off);
                }
            }
            for (; r < valid; r++) {
                int o = y0 + i * ys + r;
                y[o] = first ? tile[i * NR + r] : tile[i * NR + r] + y[o];
            }
        }
    }

    /**
     * A tile in row-pair order ({@link Widen#rowPairs}: each NR-wide group holds its even rows,
     * then its odd rows) zipped back into row order: `groups` groups from tile into zipped, which
     * may be tile itself (each group is read whole before it is written).
     */
    static float[] zipRowPairs(float[] tile, int groups, float[] zipped) {
        for (int i = 0; i < groups; i++) {
            FloatVector even = FloatVector.fromArray(F, tile, i * NR);
            FloatVector odd = FloatVector.fromArray(F, tile, i * NR + LANES);
            even.rearrange(ZIP_LOW, odd).intoArray(zipped, i * NR);
            even.rearrange(ZIP_HIGH, odd).intoArray(zipped, i * NR + LANES);
        }
        return zipped;
    }

    /** {@link #store} for a tile of m token rows in row-pair order, zipped in place first. */
    static void storeRowPairs(float[] tile, int m, int valid, float[] y, int y0, int ys, boolean first) {
        store(zipRowPairs(tile, m, tile), m, valid, y, y0, ys, first);
    }
}
