package dev.gemmalora.train;

import java.util.List;

/**
 * torch.optim.AdamW: decoupled weight decay (p -= lr*wd*p first), then the Adam step with bias
 * correction, in fp32 as torch computes it. One moment pair per parameter array.
 */
public final class AdamW {
    private final double beta1;
    private final double beta2;
    private final double eps;
    private final double weightDecay;
    private final float[][] params;
    private final float[][] m;
    private final float[][] v;
    private int step;

    public AdamW(List<float[]> params, double beta1, double beta2, double eps, double weightDecay) {
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        this.weightDecay = weightDecay;
        this.params = params.toArray(new float[0][]);
        this.m = new float[this.params.length][];
        this.v = new float[this.params.length][];
        for (int i = 0; i < this.params.length; i++) {
            m[i] = new float[this.params[i].length];
            v[i] = new float[this.params[i].length];
        }
    }

    /** Updates done so far (torch's state["step"]). */
    public int step() {
        return step;
    }

    /** First moments (exp_avg), one array per parameter, live. */
    public float[][] firstMoments() {
        return m;
    }

    /** Second moments (exp_avg_sq), one array per parameter, live. */
    public float[][] secondMoments() {
        return v;
    }

    /** Continues from a saved state: the step count; the moments are filled in place by the caller. */
    public void setStep(int step) {
        this.step = step;
    }

    /** One update with learning rate lr from the gradients (same order as the parameters). */
    public void update(List<float[]> grads, double lr) {
        step++;
        double bc1 = 1 - Math.pow(beta1, step);
        double bc2Sqrt = Math.sqrt(1 - Math.pow(beta2, step));
        float stepSize = (float) (lr / bc1);
        float decay = (float) (1 - lr * weightDecay);
        float b1 = (float) beta1;
        float b2 = (float) beta2;
        for (int i = 0; i < params.length; i++) {
            float[] p = params[i];
            float[] g = grads.get(i);
            float[] mi = m[i];
            float[] vi = v[i];
            for (int j = 0; j < p.length; j++) {
                p[j] *= decay;
                mi[j] = b1 * mi[j] + (1 - b1) * g[j];
                vi[j] = b2 * vi[j] + (1 - b2) * g[j] * g[j];
                float denom = (float) (Math.sqrt(vi[j]) / bc2Sqrt + eps);
                p[j] -= stepSize * mi[j] / denom;
            }
        }
    }
}
