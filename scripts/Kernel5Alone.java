import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.reflect.Method;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The engine's own five-token kernel (PackedKernels.kernel5) on one thread, its operands in L1,
 * beside a Vector API FMA loop: the Java side of scripts/kernel-vs-c. Run on the project's
 * classes (core/target/classes). Argument: kc, the k-steps per call.
 */
public final class Kernel5Alone {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_256;
    private static final MethodHandle KERNEL5 = kernel5();

    private static MethodHandle kernel5() {
        try {
            Method m = Class.forName("dev.gemmalora.tensor.PackedKernels").getDeclaredMethod("kernel5",
                    float[].class, int.class, MemorySegment.class, long.class, int.class, float[].class);
            m.setAccessible(true);
            return MethodHandles.lookup().unreflect(m);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
    }

    private static float fmaLoop(long iters) {
        FloatVector m = FloatVector.broadcast(F, 0.999999f), a = FloatVector.broadcast(F, 1e-7f);
        FloatVector c0 = FloatVector.broadcast(F, 1f), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0, c8 = c0, c9 = c0;
        for (long i = 0; i < iters; i++) {
            c0 = m.fma(a, c0); c1 = m.fma(a, c1); c2 = m.fma(a, c2); c3 = m.fma(a, c3); c4 = m.fma(a, c4);
            c5 = m.fma(a, c5); c6 = m.fma(a, c6); c7 = m.fma(a, c7); c8 = m.fma(a, c8); c9 = m.fma(a, c9);
        }
        return c0.add(c1).add(c2).add(c3).add(c4).add(c5).add(c6).add(c7).add(c8).add(c9).lane(0);
    }

    public static void main(String[] args) throws Throwable {
        if (dev.gemmalora.tensor.Simd.LANES != 8) {
            // The engine's panels are then 32 floats wide and the C side has no such kernel.
            System.err.println("Kernel5Alone: AVX2 (8-lane) machines only; this JVM's vectors have " + dev.gemmalora.tensor.Simd.LANES + " lanes");
            System.exit(2);
        }
        int kc = Integer.parseInt(args.length > 0 ? args[0] : "256");
        MemorySegment pk = Arena.global().allocate(kc * 16L * 4, 64);
        for (long i = 0; i < kc * 16L; i++) {
            pk.setAtIndex(ValueLayout.JAVA_FLOAT, i, (i % 7) * 0.01f);
        }
        float[] x = new float[kc * 5];
        for (int i = 0; i < x.length; i++) {
            x[i] = (i % 11) * 0.1f;
        }
        float[] tile = new float[6 * 16];
        double kernel = 0;
        double loop = 0;
        for (int round = 0; round < 3; round++) { // the first two rounds warm the JIT up
            long t0 = System.nanoTime();
            long calls = 0;
            while (System.nanoTime() - t0 < 500_000_000L) {
                for (int r = 0; r < 1000; r++) {
                    KERNEL5.invokeExact(x, 0, pk, 0L, kc, tile);
                }
                calls += 1000;
            }
            kernel = calls * 10.0 * kc * 16 / ((System.nanoTime() - t0) / 1e9) / 1e9;
            t0 = System.nanoTime();
            float s = 0;
            for (int i = 0; i < 250; i++) {
                s += fmaLoop(200_000L);
            }
            loop = 50_000_000.0 * 10 * 16 / ((System.nanoTime() - t0) / 1e9) / 1e9;
            if (s + tile[0] == 0) {
                System.out.print(" ");
            }
        }
        System.out.printf("Java  kernel5 %5.1f GFLOP/s, FMA loop %5.1f (%.2f)%n", kernel, loop, kernel / loop);
    }
}
