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

    /** y[T, rows] = x[T, cols] * W^T for a heap matrix w[rows, cols]. */
    public static void matmulT(float[] x, int tokens, float[] w, int rows, int cols, float[] y) {
        for (int t = 0; t < tokens; t++) {
            for (int o = 0; o < rows; o++) {
                float s = 0;
                for (int k = 0; k < cols; k++) {
                    s += x[t * cols + k] * w[o * cols + k];
                }
                y[t * rows + o] = s;
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

    /** dx[T, cols] += dy[T, rows] * w for a heap matrix w[rows, cols]. */
    public static void matmulAdd(float[] dy, int tokens, float[] w, int rows, int cols, float[] dx) {
        for (int t = 0; t < tokens; t++) {
            for (int o = 0; o < rows; o++) {
                float g = dy[t * rows + o];
                for (int k = 0; k < cols; k++) {
                    dx[t * cols + k] += g * w[o * cols + k];
                }
            }
        }
    }

    /** g[rows, cols] += dy[T, rows]^T * x[T, cols] (weight gradient). */
    public static void outerAdd(float[] dy, float[] x, int tokens, int rows, int cols, float[] g) {
        for (int t = 0; t < tokens; t++) {
            for (int o = 0; o < rows; o++) {
                float d = dy[t * rows + o];
                for (int k = 0; k < cols; k++) {
                    g[o * cols + k] += d * x[t * cols + k];
                }
            }
        }
    }
}
