package dev.gemmalora.model;

/**
 * Rotary position embedding with non-interleaved halves, computed in float32 exactly as
 * transformers does (angle = float(pos) * float(inv_freq)), so long positions round the same way.
 */
public final class Rope {
    private final int headDim;
    private final float[] invFreq;

    public Rope(int headDim, double theta) {
        this.headDim = headDim;
        int half = headDim / 2;
        invFreq = new float[half];
        for (int i = 0; i < half; i++) {
            float p = (float) Math.pow(theta, (float) (2 * i) / headDim);
            invFreq[i] = 1.0f / p;
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
        float[] cos = new float[half];
        float[] sin = new float[half];
        for (int t = 0; t < pos.length; t++) {
            for (int i = 0; i < half; i++) {
                float angle = (float) pos[t] * invFreq[i];
                cos[i] = (float) Math.cos(angle);
                sin[i] = sign * (float) Math.sin(angle);
            }
            for (int h = 0; h < heads; h++) {
                int o = (t * heads + h) * headDim;
                for (int i = 0; i < half; i++) {
                    float a = x[o + i];
                    float b = x[o + half + i];
                    x[o + i] = a * cos[i] - b * sin[i];
                    x[o + half + i] = b * cos[i] + a * sin[i];
                }
            }
        }
    }
}
