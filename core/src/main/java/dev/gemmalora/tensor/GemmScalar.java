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

    /** g[r, cols] += v[T, r]^T m[T, cols], the twin of {@link TransposedProduct#add}. */
    public static void addTransposedProduct(float[] v, int r, float[] m, int tokens, int cols, float[] g) {
        for (int j = 0; j < r; j++) {
            for (int c = 0; c < cols; c++) {
                float s = 0;
                for (int t = 0; t < tokens; t++) {
                    s += v[t * r + j] * m[t * cols + c];
                }
                g[j * cols + c] += s;
            }
        }
    }

    /** dot(a[a0 .. a0+n), b[b0 .. b0+n)), summed in order. */
    public static float dot(float[] a, int a0, float[] b, int b0, int n) {
        float s = 0;
        for (int k = 0; k < n; k++) {
            s += a[a0 + k] * b[b0 + k];
        }
        return s;
    }

    /** out[o0 .. o0+n) += sum over c of w[c] * src[off[c] .. off[c]+n), the twin of {@link WeightedRows#add}. */
    public static void addWeightedRows(float[] out, int o0, int n, float[] src, int[] off, float[] w, int count) {
        for (int c = 0; c < count; c++) {
            for (int d = 0; d < n; d++) {
                out[o0 + d] += w[c] * src[off[c] + d];
            }
        }
    }
}
