package dev.gemmalora.model;

/**
 * Plain double-precision twins of the forward ops, written from the math (transformers'
 * definitions), for finite differences that are exact to about 1e-9: the fp32 backward of each op
 * is checked against these, not against its own forward.
 */
public final class DoubleReference {
    private DoubleReference() {
    }

    public static double[] widen(float[] x) {
        double[] d = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            d[i] = x[i];
        }
        return d;
    }

    /** x / sqrt(mean(x^2) + eps) * (1 + w), per row. */
    public static double[] rmsNorm(double[] x, int rows, int n, double[] w, double eps) {
        double[] y = new double[x.length];
        for (int r = 0; r < rows; r++) {
            double ms = 0;
            for (int i = 0; i < n; i++) {
                ms += x[r * n + i] * x[r * n + i];
            }
            double inv = 1 / Math.sqrt(ms / n + eps);
            for (int i = 0; i < n; i++) {
                y[r * n + i] = x[r * n + i] * inv * (1 + w[i]);
            }
        }
        return y;
    }

    /** gelu_pytorch_tanh. */
    public static double gelu(double x) {
        return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
    }

    /** GeGLU: gelu(gate) * up, elementwise. */
    public static double[] geglu(double[] gate, double[] up) {
        double[] y = new double[gate.length];
        for (int i = 0; i < y.length; i++) {
            y[i] = gelu(gate[i]) * up[i];
        }
        return y;
    }

    /** rotate_half RoPE with inv_freq = theta^(-2i/d), row t at position pos0 + t. */
    public static double[] rope(double[] x, int tokens, int heads, int dim, int pos0, double theta) {
        return rope(x, tokens, heads, dim, pos0, theta, 1);
    }

    /** RoPE with linear scaling: every angle divided by factor. */
    public static double[] rope(double[] x, int tokens, int heads, int dim, int pos0, double theta, double factor) {
        double[] y = x.clone();
        int half = dim / 2;
        for (int t = 0; t < tokens; t++) {
            for (int h = 0; h < heads; h++) {
                int o = (t * heads + h) * dim;
                for (int i = 0; i < half; i++) {
                    double angle = (pos0 + t) * Math.pow(theta, -2.0 * i / dim) / factor;
                    double a = x[o + i];
                    double b = x[o + half + i];
                    y[o + i] = a * Math.cos(angle) - b * Math.sin(angle);
                    y[o + half + i] = b * Math.cos(angle) + a * Math.sin(angle);
                }
            }
        }
        return y;
    }

    /**
     * Causal sliding-window GQA attention of a right-padded batch: scores q.k * scaling,
     * soft-capped (cap 0: none), masked, softmax, times v. A query with no visible key attends
     * uniformly to every key (HF's min-float additive mask).
     */
    public static double[] attention(double[] q, double[] k, double[] v, int batch, int tokens, int heads, int kvHeads,
                                     int dim, double scaling, double cap, int[][] mask, int window) {
        double[] out = new double[batch * tokens * heads * dim];
        int group = heads / kvHeads;
        for (int b = 0; b < batch; b++) {
            for (int h = 0; h < heads; h++) {
                int kh = h / group;
                for (int i = 0; i < tokens; i++) {
                    double[] p = new double[tokens];
                    double max = Double.NEGATIVE_INFINITY;
                    boolean any = false;
                    for (int j = 0; j <= i; j++) {
                        if (mask[b][j] == 0 || i - j >= window) {
                            p[j] = Double.NaN;
                            continue;
                        }
                        double s = 0;
                        for (int d = 0; d < dim; d++) {
                            s += q[((b * tokens + i) * heads + h) * dim + d] * k[((b * tokens + j) * kvHeads + kh) * dim + d];
                        }
                        s *= scaling;
                        if (cap != 0) {
                            s = cap * Math.tanh(s / cap);
                        }
                        p[j] = s;
                        max = Math.max(max, s);
                        any = true;
                    }
                    double sum = 0;
                    for (int j = 0; j < tokens; j++) {
                        p[j] = !any ? 1 : j > i || Double.isNaN(p[j]) ? 0 : Math.exp(p[j] - max);
                        sum += p[j];
                    }
                    for (int j = 0; j < tokens; j++) {
                        for (int d = 0; d < dim; d++) {
                            out[((b * tokens + i) * heads + h) * dim + d] += p[j] / sum * v[((b * tokens + j) * kvHeads + kh) * dim + d];
                        }
                    }
                }
            }
        }
        return out;
    }

    /** Summed cross-entropy of rows of hidden against targets, through logits = hidden E^T and cap*tanh(l/cap). */
    public static double crossEntropy(double[] hidden, int rows, int h, double[] embed, int vocab, double cap, int[] targets) {
        double loss = 0;
        for (int r = 0; r < rows; r++) {
            double[] l = new double[vocab];
            double max = Double.NEGATIVE_INFINITY;
            for (int o = 0; o < vocab; o++) {
                double s = 0;
                for (int i = 0; i < h; i++) {
                    s += hidden[r * h + i] * embed[o * h + i];
                }
                l[o] = cap == 0 ? s : cap * Math.tanh(s / cap);
                max = Math.max(max, l[o]);
            }
            double sum = 0;
            for (double x : l) {
                sum += Math.exp(x - max);
            }
            loss += max + Math.log(sum) - l[targets[r]];
        }
        return loss;
    }
}
