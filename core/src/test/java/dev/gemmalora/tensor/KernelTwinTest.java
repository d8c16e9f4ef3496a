package dev.gemmalora.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gemmalora.io.DType;
import dev.gemmalora.io.TensorData;
import dev.gemmalora.model.Ops;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Each fast kernel against its scalar twin, on shapes that hit every tile edge. */
class KernelTwinTest {
    static float[] random(Random r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) r.nextGaussian();
        }
        return a;
    }

    static void assertClose(float[] want, float[] got, double tol) {
        assertEquals(want.length, got.length);
        for (int i = 0; i < want.length; i++) {
            double d = Math.abs(want[i] - got[i]);
            assertTrue(d <= tol * (1 + Math.abs(want[i])), "index " + i + ": want " + want[i] + " got " + got[i]);
        }
    }

    /** Attention's dot at offsets, over the four-accumulator blocks, single vectors and a scalar tail. */
    @ParameterizedTest(name = "n {0}")
    @org.junit.jupiter.params.provider.ValueSource(ints = {1, 7, 8, 31, 32, 45, 256, 300})
    void dotMatchesScalar(int n) {
        Random r = new Random(n);
        float[] a = random(r, n + 3);
        float[] b = random(r, n + 5);
        float want = GemmScalar.dot(a, 3, b, 5, n);
        assertClose(new float[] {want}, new float[] {Gemm.dot(a, 3, b, 5, n)}, 1e-5 * Math.sqrt(n));
    }

    /** Every rank grouping (fours and a remainder) and column edge (16-wide blocks, tasks of 128, a scalar tail). */
    @ParameterizedTest
    @CsvSource({"1,1,1", "3,8,16", "17,8,2304", "9,5,130", "40,7,300", "512,8,144", "6,4,15"})
    void transposedProductMatchesScalar(int tokens, int r, int cols) {
        Random rnd = new Random(tokens * 31 + r * 7 + cols);
        float[] v = random(rnd, tokens * r);
        float[] m = random(rnd, tokens * cols);
        float[] want = random(rnd, r * cols);
        float[] got = want.clone();
        GemmScalar.addTransposedProduct(v, r, m, tokens, cols, want);
        TransposedProduct.add(v, r, m, tokens, cols, got);
        assertClose(want, got, 1e-5 * Math.sqrt(tokens));
    }

    /** Weighted row sums over 64-wide register blocks, single vectors and a scalar tail, rows read at scattered offsets. */
    @ParameterizedTest
    @CsvSource({"256,130", "4,7", "77,3", "64,1", "200,0"})
    void weightedRowsMatchScalar(int n, int count) {
        Random rnd = new Random(n * 13 + count);
        float[] src = random(rnd, (count + 3) * n + 5);
        int[] off = new int[count];
        float[] w = new float[count];
        for (int c = 0; c < count; c++) {
            off[c] = rnd.nextInt(src.length - n + 1);
            w[c] = (float) rnd.nextGaussian();
        }
        float[] start = random(rnd, n + 9);
        float[] want = start.clone();
        GemmScalar.addWeightedRows(want, 9, n, src, off, w, count);
        float[] got = start.clone();
        WeightedRows.add(got, 9, n, src, off, w, count);
        assertClose(want, got, 1e-5 * Math.sqrt(count + 1));
    }

    /** Vector GeGLU (one exp per lane) and its gradients against the scalar tanh formulas, over chunk edges and a tail. */
    @org.junit.jupiter.api.Test
    void gegluMatchesScalar() {
        Random r = new Random(11);
        int n = 40_003;
        float[] g = random(r, n);
        for (int i = 0; i < n; i++) {
            g[i] *= 4;
        }
        g[0] = 0f;
        g[1] = -30f;
        g[2] = 30f;
        float[] u = random(r, n);
        float[] dAct = random(r, n);
        float[] act = new float[n];
        float[] dg = new float[n];
        float[] du = new float[n];
        float[] wantDg = new float[n];
        float[] wantDu = new float[n];
        for (int i = 0; i < n; i++) {
            act[i] = Ops.geluTanh(g[i]) * u[i];
            wantDg[i] = dAct[i] * u[i] * Ops.geluTanhGrad(g[i]);
            wantDu[i] = dAct[i] * Ops.geluTanh(g[i]);
        }
        assertClose(act, Ops.geglu(g, u), 2e-6);
        Ops.gegluBackward(dAct, g, u, dg, du, g.length);
        assertClose(wantDg, dg, 2e-6);
        assertClose(wantDu, du, 2e-6);
    }

    @ParameterizedTest
    @CsvSource({"1,3,5,F32", "1,70,320,BF16", "1,60,600,BF16", "1,140,256,BF16", "3,130,2304,BF16", "9,40,256,BF16", "12,33,512,BF16", "31,20,256,BF16", "2,17,9,BF16", "2,70,600,BF16", "2,140,256,BF16", "3,33,300,F16", "4,16,16,BF16", "6,16,256,F32", "7,35,257,BF16",
            "13,50,600,F32", "64,130,520,BF16", "9,24,256,BF16", "11,30,300,F32", "130,8,700,BF16", "20,1100,1000,BF16", "8,40,1100,BF16",
            "5,70,600,BF16", "6,40,520,BF16", "10,40,600,BF16"})
    void matmulMatchesScalar(int tokens, int rows, int cols, String dtype) {
        Random r = new Random(tokens * 1000 + rows);
        float[] x = random(r, tokens * cols);
        Weight w = Weight.of(TensorData.ofFloats("w", DType.valueOf(dtype), random(r, rows * cols), rows, cols));
        float[] want = new float[tokens * rows];
        GemmScalar.matmulT(x, tokens, w, want);
        float[] got = new float[tokens * rows];
        Gemm.matmulT(x, tokens, w, got);
        assertClose(want, got, 1e-4 * Math.sqrt(cols));
        float[] heap = new float[rows * cols];
        for (int i = 0; i < rows; i++) {
            w.row(i, heap, i * cols);
        }
        float[] got2 = new float[tokens * rows];
        Gemm.matmulT(x, tokens, heap, rows, cols, got2);
        assertClose(want, got2, 1e-4 * Math.sqrt(cols));
    }

    @ParameterizedTest
    @CsvSource({"1,3,5,F32", "5,17,9,BF16", "6,33,300,F16", "13,50,600,F32", "64,130,520,BF16", "17,9300,53,BF16",
            "33,520,100,F32", "16,256,48,BF16", "7,300,97,BF16", "20,64,192,F32", "140,700,8,F32"})
    void inputGradientMatchesScalar(int tokens, int rows, int cols, String dtype) {
        Random r = new Random(tokens * 7 + cols);
        float[] dy = random(r, tokens * rows);
        Weight w = Weight.of(TensorData.ofFloats("w", DType.valueOf(dtype), random(r, rows * cols), rows, cols));
        float[] start = random(r, tokens * cols);
        float[] want = start.clone();
        GemmScalar.matmulAdd(dy, tokens, w, want);
        float[] got = start.clone();
        Gemm.matmulAdd(dy, tokens, w, got);
        assertClose(want, got, 1e-4 * Math.sqrt(rows));
        float[] heap = new float[rows * cols];
        for (int i = 0; i < rows; i++) {
            w.row(i, heap, i * cols);
        }
        float[] got2 = start.clone();
        Gemm.matmulAdd(dy, tokens, heap, rows, cols, got2);
        assertClose(want, got2, 1e-4 * Math.sqrt(rows));
        float[] product = new float[tokens * cols];
        GemmScalar.matmulAdd(dy, tokens, w, product);
        float[] got3 = start.clone(); // stale contents: matmul overwrites every element
        Gemm.matmul(dy, tokens, heap, rows, cols, got3);
        assertClose(product, got3, 1e-4 * Math.sqrt(rows));
        float[] got4 = start.clone();
        Gemm.matmul(dy, tokens, w, got4);
        assertClose(product, got4, 1e-4 * Math.sqrt(rows));
    }

    /**
     * The two-panel kernels that AVX-512 runs ({@link Gemm#PAIRED}), checked on any machine: each
     * panel's sums and widened copy are the bits of the one-panel kernels, which the GEMM tests
     * hold to the scalar twin.
     */
    @org.junit.jupiter.api.Test
    void pairedKernelsMatchTheOnePanelKernels() {
        Random r = new Random(9);
        int nr = Weight.PANEL;
        int cols = 300;
        Weight w = Weight.of(TensorData.ofFloats("w", DType.BF16, random(r, 2 * nr * cols), 2 * nr, cols));
        float[] fives = random(r, Gemm.PACKED * cols);
        long panelBytes = (long) cols * nr * 2;
        long next = (long) nr * cols;
        try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
            java.lang.foreign.MemorySegment paired = arena.allocate(2 * next * 4, 64);
            java.lang.foreign.MemorySegment single = arena.allocate(2 * next * 4, 64);
            float[] tile = new float[Gemm.MR * nr];
            float[] tile2 = new float[Gemm.MR * nr];
            float[] want = new float[Gemm.MR * nr];
            float[] want2 = new float[Gemm.MR * nr];
            StreamingKernels.stream5Pair(fives, 0, w.data(), 0, panelBytes, cols, tile, tile2, paired, 0, next);
            StreamingKernels.stream5(fives, 0, w.data(), 0, cols, want, single, 0);
            StreamingKernels.stream5(fives, 0, w.data(), panelBytes, cols, want2, single, next);
            assertArrayEquals(want, tile, "stream5Pair, first panel");
            assertArrayEquals(want2, tile2, "stream5Pair, second panel");
            assertArrayEquals(single.toArray(java.lang.foreign.ValueLayout.JAVA_FLOAT), paired.toArray(java.lang.foreign.ValueLayout.JAVA_FLOAT),
                    "widened panels");
            PackedKernels.kernel5Pair(fives, 0, paired, 0, next, cols, tile, tile2);
            PackedKernels.kernel5(fives, 0, single, 0, cols, want);
            PackedKernels.kernel5(fives, 0, single, next, cols, want2);
            assertArrayEquals(want, tile, "kernel5Pair, first panel");
            assertArrayEquals(want2, tile2, "kernel5Pair, second panel");
        }
    }

    /** Memory on huge pages (past 2 MiB) starts zeroed, holds what is written and has the size asked for. */
    @org.junit.jupiter.api.Test
    void hugePageMemoryIsZeroedAndWritable() {
        long bytes = (3L << 20) + 4096 + 8;
        java.lang.foreign.MemorySegment m = HugePages.allocate(bytes);
        assertEquals(bytes, m.byteSize());
        for (long i = 0; i < bytes; i += 4099) {
            assertEquals(0, m.get(java.lang.foreign.ValueLayout.JAVA_BYTE, i));
        }
        m.set(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED, bytes - 8, 0x1234_5678_9abc_def0L);
        assertEquals(0x1234_5678_9abc_def0L, m.get(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED, bytes - 8));
        assertEquals(0, m.address() % 64);
    }

    /** The panel repacking keeps every element where HF's row-major layout has it. */
    @ParameterizedTest
    @CsvSource({"1,5,F32", "17,9,BF16", "33,300,F16", "48,64,BF16"})
    void packedWeightKeepsEveryElement(int rows, int cols, String dtype) {
        TensorData t = TensorData.ofFloats("w", DType.valueOf(dtype), random(new Random(rows), rows * cols), rows, cols);
        Weight w = Weight.of(t);
        float[] row = new float[cols];
        for (int r = 0; r < rows; r++) {
            w.row(r, row, 0);
            for (int c = 0; c < cols; c++) {
                assertEquals(t.get((long) r * cols + c), w.get(r, c));
                assertEquals(t.get((long) r * cols + c), row[c]);
            }
        }
    }

    /** A token's output is the same bits whether decoded alone, in a few, or in a large batch. */
    @ParameterizedTest
    @CsvSource({"BF16,40,600", "BF16,100,600", "F32,33,257"})
    void resultDoesNotDependOnTheBatch(String dtype, int rows, int cols) {
        Random r = new Random(5);
        Weight w = Weight.of(TensorData.ofFloats("w", DType.valueOf(dtype), random(r, rows * cols), rows, cols));
        // 20 tokens take the packed path; 1, 2 and 3 the one-, two- and four-token streaming kernels,
        // 5 the five-token one on packed tokens, 6 to 8 two tiles of at most four tokens, the second
        // on the panel the first widened (BF16; one token takes four panels at a time and two tokens
        // two where a task has them, then single panels).
        int tokens = 20;
        float[] x = random(r, tokens * cols);
        float[] all = new float[tokens * rows];
        Gemm.matmulT(x, tokens, w, all);
        for (int t = 0; t < tokens; t++) {
            float[] one = new float[rows];
            Gemm.matmulT(java.util.Arrays.copyOfRange(x, t * cols, (t + 1) * cols), 1, w, one);
            assertArrayEquals(java.util.Arrays.copyOfRange(all, t * rows, (t + 1) * rows), one, "token " + t);
        }
        for (int few : new int[] {2, 3, 5, 6, 7, 8}) {
            float[] some = new float[few * rows];
            Gemm.matmulT(java.util.Arrays.copyOfRange(x, 0, few * cols), few, w, some);
            assertArrayEquals(java.util.Arrays.copyOfRange(all, 0, few * rows), some, few + " tokens");
        }
    }

    /**
     * The same for heap matrices (a LoRA adapter's A and B), with and without adding into y: one
     * to three tokens take the dot path, more the packed kernels.
     */
    @ParameterizedTest
    @CsvSource({"8,1100", "600,8", "37,513"})
    void heapResultDoesNotDependOnTheBatch(int rows, int cols) {
        Random r = new Random(6);
        float[] w = random(r, rows * cols);
        int tokens = 20;
        float[] x = random(r, tokens * cols);
        float[] base = random(r, tokens * rows);
        float[] all = new float[tokens * rows];
        float[] allAdded = base.clone();
        Gemm.matmulT(x, tokens, w, rows, cols, all);
        Gemm.matmulTAdd(x, tokens, w, rows, cols, allAdded);
        for (int t = 0; t < tokens; t++) {
            float[] xt = java.util.Arrays.copyOfRange(x, t * cols, (t + 1) * cols);
            float[] one = new float[rows];
            Gemm.matmulT(xt, 1, w, rows, cols, one);
            assertArrayEquals(java.util.Arrays.copyOfRange(all, t * rows, (t + 1) * rows), one, "token " + t);
            float[] oneAdded = java.util.Arrays.copyOfRange(base, t * rows, (t + 1) * rows);
            Gemm.matmulTAdd(xt, 1, w, rows, cols, oneAdded);
            assertArrayEquals(java.util.Arrays.copyOfRange(allAdded, t * rows, (t + 1) * rows), oneAdded, "token " + t + " added");
        }
    }

    @ParameterizedTest
    @CsvSource({"7", "64", "1000", "256000"})
    void softmaxStatsMatchScalar(int n) {
        Random r = new Random(n);
        float[] x = random(r, n + 3);
        for (int i = 0; i < x.length; i++) {
            x[i] *= 10;
        }
        assertEquals(Softmax.logSumExpScalar(x, 3, n), Softmax.logSumExp(x, 3, n), 1e-6 * Math.log(n + 1));
        int arg = 0;
        for (int i = 1; i < n; i++) {
            if (x[3 + i] > x[3 + arg]) {
                arg = i;
            }
        }
        assertEquals(arg, Softmax.argmax(x, 3, n));
    }

    @ParameterizedTest
    @CsvSource({"5,30", "300,50", "1027,5"})
    void softcapMatchesScalar(int n, float cap) {
        Random r = new Random(n);
        float[] x = random(r, n);
        for (int i = 0; i < n; i++) {
            x[i] *= 3 * cap;
        }
        float[] want = x.clone();
        Softcap.applyScalar(want, 0, n, cap);
        Softcap.apply(x, 0, n, cap);
        for (int i = 0; i < n; i++) {
            assertEquals(want[i], x[i], 2e-6 * cap);
        }
    }

    /** The deterministic vector exp against Math.exp, from underflow to overflow, within 2 ulp. */
    @org.junit.jupiter.api.Test
    void vectorExpIsWithinTwoUlpOfMathExp() {
        int lanes = Simd.F.length();
        float[] x = new float[lanes];
        float[] y = new float[lanes];
        for (float v = -87f; v < 88f; v += 0.0137f * lanes) {
            for (int l = 0; l < lanes; l++) {
                x[l] = v + 0.0137f * l;
            }
            VectorMath.exp(jdk.incubator.vector.FloatVector.fromArray(Simd.F, x, 0)).intoArray(y, 0);
            for (int l = 0; l < lanes; l++) {
                float want = (float) Math.exp(x[l]);
                assertTrue(Math.abs(y[l] - want) <= 2 * Math.ulp(want), "exp(" + x[l] + "): " + y[l] + " vs " + want);
            }
        }
    }

    /** The run held to 8 lanes (the pom's second execution) really is: a JVM flag it passes could be ignored. */
    @org.junit.jupiter.api.Test
    void vectorsAreNoWiderThanTheRunAllows() {
        assertTrue(Simd.LANES <= Integer.getInteger("simd.lanes.at.most", Simd.LANES), "lanes " + Simd.LANES);
    }

    @org.junit.jupiter.api.Test
    void laneSumAddsEveryLane() {
        float[] a = random(new Random(3), Simd.F.length());
        double want = 0;
        for (float v : a) {
            want += v;
        }
        assertEquals(want, VectorMath.sum(jdk.incubator.vector.FloatVector.fromArray(Simd.F, a, 0)), 1e-5);
    }
}
