package dev.gemmalora.tensor;

/** Plain scalar twins of {@link Gemm}: the definition the fast kernels are tested against. */
public final class GemmScalar {
    private GemmScalar() {
    }

    /** y[T, rows] = x[T, cols] * W^T. */
    public static void matmulT(float[] x, int tokens, Weight w, float[] y) {
        for (int t = 0; t < tokens; t++) {
            for (int o = 0; o < w.rows(); o++) {
                float s = 0;
                for (int k = 0; k < w.cols(); k++) {
                    s += x[t * w.cols() + k] * w.get(o, k);
                }
                y[t * w.rows() + o] = s;
            }
        }
    }

    /** dx[T, cols] += dy[T, rows] * W. */
    public static void matmulAdd(float[] dy, int tokens, Weight w, float[] dx) {
        for (int t = 0; t < tokens; t++) {
            for (int o = 0; o < w.rows(); o++) {
                float g = dy[t * w.rows() + o];
                for (int k = 0; k < w.cols(); k++) {
                    dx[t * w.cols() + k] += g * w.get(o, k);
                }
            }
        }
    }
}
