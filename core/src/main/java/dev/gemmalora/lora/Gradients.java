package dev.gemmalora.lora;

/** Whole-model gradient arithmetic shared by the adapter's own buffers and a step's summed gradients. */
public final class Gradients {
    private Gradients() {
    }

    /** The L2 norm of all arrays together, summed in double in array order. */
    public static double norm(float[][] grads) {
        double s = 0;
        for (float[] g : grads) {
            for (float x : g) {
                s += (double) x * x;
            }
        }
        return Math.sqrt(s);
    }

    /** Scales every gradient so the global norm is at most maxNorm (torch's clip_grad_norm_), given the norm. */
    public static void clip(float[][] grads, double norm, double maxNorm) {
        if (maxNorm > 0 && norm > maxNorm) {
            float c = (float) (maxNorm / (norm + 1e-6));
            for (float[] g : grads) {
                for (int j = 0; j < g.length; j++) {
                    g[j] *= c;
                }
            }
        }
    }
}
