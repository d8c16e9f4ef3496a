package dev.gemmalora.model;

/**
 * Rotary position embedding with non-interleaved halves, computed in float32 exactly as
 * transformers does (angle = float(pos) * float(inv_freq)), so long positions round the same way.
 */
public final class Rope {
    private final int headDim;
    private final float[] invFreq;
    /**
     * cos and sin of every angle for positions [0, n), row-major by position: a training step
     * rotates 4 x 512 rows per layer, and computing the angles' cos and sin each time was 1% of
     * the step, on one thread. Grown to the largest position asked for, and replaced, never
     * changed, so concurrent forwards (scoring runs several) share it without locks.
     */
    private volatile Table table = new Table(0, new float[0], new float[0]);

    private record Table(int positions, float[] cos, float[] sin) {
    }

    public Rope(int headDim, double theta) {
        this(headDim, theta, 1);
    }

    /** With linear scaling (Gemma 3's full layers): positions divided by factor, as inv_freq / factor in float32. */
    public Rope(int headDim, double theta, double factor) {
        this.headDim = headDim;
        int half = headDim / 2;
        invFreq = new float[half];
        for (int i = 0; i < half; i++) {
            float p = (float) Math.pow(theta, (float) (2 * i) / headDim);
            invFreq[i] = factor == 1 ? 1.0f / p : (1.0f / p) / (float) factor;
        }
    }

    /**
     * Rotates each head of x[T, heads*headDim] in place; row t sits at position pos0 + (t % rowLen).
     * sign = +1 applies the rotation, -1 its inverse (the backward pass).
     */
    public void apply(float[] x, int tokens, int rowLen, int heads, int pos0, int sign) {
        int[] pos = new int[tokens];
        for (int t = 0; t < tokens; t++) {
            pos[t] = pos0 + t % rowLen;
        }
        apply(x, heads, pos, sign);
    }

    /** Rotates each head of x[T, heads*headDim] in place, row t at position pos[t]. */
    public void apply(float[] x, int heads, int[] pos, int sign) {
        int half = headDim / 2;
        int maxPos = 0;
        for (int p : pos) {
            maxPos = Math.max(maxPos, p);
        }
        Table tab = tableThrough(maxPos);
        for (int t = 0; t < pos.length; t++) {
            int c = pos[t] * half;
            for (int h = 0; h < heads; h++) {
                int o = (t * heads + h) * headDim;
                for (int i = 0; i < half; i++) {
                    float cos = tab.cos[c + i];
                    float sin = sign * tab.sin[c + i];
                    float a = x[o + i];
                    float b = x[o + half + i];
                    x[o + i] = a * cos - b * sin;
                    x[o + half + i] = b * cos + a * sin;
                }
            }
        }
    }

    /** A table holding position maxPos, doubling the current one's length when it is too short. */
    private Table tableThrough(int maxPos) {
        Table tab = table;
        if (maxPos < tab.positions) {
            return tab;
        }
        int n = Math.max(maxPos + 1, 2 * tab.positions);
        int half = headDim / 2;
        float[] cos = new float[n * half];
        float[] sin = new float[n * half];
        for (int p = 0; p < n; p++) {
            for (int i = 0; i < half; i++) {
                float angle = (float) p * invFreq[i];
                cos[p * half + i] = (float) Math.cos(angle);
                sin[p * half + i] = (float) Math.sin(angle);
            }
        }
        tab = new Table(n, cos, sin);
        table = tab;
        return tab;
    }
}
