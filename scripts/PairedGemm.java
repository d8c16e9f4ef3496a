import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;

/**
 * Times two builds of Gemm.matmulT (or, with op input-gradient, Gemm.matmul: dx = dy W) against
 * each other in one JVM, alternating them in short runs, because on a shared VM the same GEMM
 * moves by tens of percent from one minute to the next: runs of the two builds taken minutes
 * apart compare the minutes, not the builds.
 * Arguments: classesA classesB tokens rows cols pairs seconds op.
 */
public final class PairedGemm {
    /** One build: its own class loader, a random BF16 weight, activations and output. */
    private static final class Build {
        final MethodHandle op;
        final Object weight;
        final float[] x;
        final float[] y;

        Build(String classes, int tokens, int rows, int cols, boolean forward) throws Throwable {
            ClassLoader loader = new URLClassLoader(new URL[] {Path.of(classes).toUri().toURL()}, PairedGemm.class.getClassLoader());
            Class<?> weightClass = Class.forName("dev.gemmalora.tensor.Weight", true, loader);
            Class<?> dtype = Class.forName("dev.gemmalora.io.DType", true, loader);
            weight = weightClass.getMethod("allocate", String.class, dtype, int.class, int.class)
                    .invoke(null, "w", dtype.getField("BF16").get(null), rows, cols);
            // Untouched pages would all read the one zero page: fill every byte, with the same bits in both builds.
            MemorySegment data = (MemorySegment) weightClass.getMethod("data").invoke(weight);
            Random r = new Random(1);
            for (long i = 0; i < data.byteSize(); i += 2) {
                data.set(ValueLayout.JAVA_SHORT_UNALIGNED, i, (short) (0x3c00 | r.nextInt(0x80) | (r.nextBoolean() ? 0x8000 : 0)));
            }
            op = MethodHandles.publicLookup().findStatic(Class.forName("dev.gemmalora.tensor.Gemm", true, loader),
                    forward ? "matmulT" : "matmul", MethodType.methodType(void.class, float[].class, int.class, weightClass, float[].class));
            x = new float[tokens * (forward ? cols : rows)];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) Math.sin(i * 0.37);
            }
            y = new float[tokens * (forward ? rows : cols)];
        }

        /** Seconds per call over calls lasting at least the given seconds. */
        double secondsPerCall(int tokens, double seconds) throws Throwable {
            int calls = 0;
            long t0 = System.nanoTime();
            do {
                op.invoke(x, tokens, weight, y);
                calls++;
            } while (System.nanoTime() - t0 < seconds * 1e9);
            return (System.nanoTime() - t0) / 1e9 / calls;
        }
    }

    public static void main(String[] args) throws Throwable {
        if (args.length != 8 || !args[7].matches("forward|input-gradient")) {
            System.err.println("usage: PairedGemm classesA classesB tokens rows cols pairs seconds forward|input-gradient");
            System.exit(2);
        }
        boolean forward = args[7].equals("forward");
        int tokens = Integer.parseInt(args[2]);
        int rows = Integer.parseInt(args[3]);
        int cols = Integer.parseInt(args[4]);
        int pairs = Integer.parseInt(args[5]);
        double seconds = Double.parseDouble(args[6]);
        Build a = new Build(args[0], tokens, rows, cols, forward);
        Build b = new Build(args[1], tokens, rows, cols, forward);
        a.secondsPerCall(tokens, 3);
        b.secondsPerCall(tokens, 3);
        double flops = 2.0 * tokens * rows * cols;
        double[] ga = new double[pairs];
        double[] gb = new double[pairs];
        int bFaster = 0;
        for (int p = 0; p < pairs; p++) {
            // Each build goes first in half the pairs, so neither always meets the later part of a minute.
            double sa;
            double sb;
            if (p % 2 == 0) {
                sa = a.secondsPerCall(tokens, seconds);
                sb = b.secondsPerCall(tokens, seconds);
            } else {
                sb = b.secondsPerCall(tokens, seconds);
                sa = a.secondsPerCall(tokens, seconds);
            }
            ga[p] = flops / sa / 1e9;
            gb[p] = flops / sb / 1e9;
            bFaster += gb[p] > ga[p] ? 1 : 0;
        }
        float maxDiff = 0;
        for (int i = 0; i < a.y.length; i++) {
            maxDiff = Math.max(maxDiff, Math.abs(a.y[i] - b.y[i]));
        }
        Arrays.sort(ga);
        Arrays.sort(gb);
        System.out.printf("%s, %d tokens x %d x %d: A %.1f, B %.1f GFLOP/s (medians of %d), B/A %.3f, B faster in %d of %d pairs, max |yA - yB| %.2g%n",
                args[7], tokens, rows, cols, ga[pairs / 2], gb[pairs / 2], pairs, gb[pairs / 2] / ga[pairs / 2], bFaster, pairs, maxDiff);
    }
}
