package dev.gemmalora.lora;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** The vectorized dropout loops against the scalar definition, and the mask's statistics. */
class DropoutMaskTest {
    static boolean[] scalarMask(long seed, int n, double p) {
        boolean[] keep = new boolean[n];
        for (int i = 0; i < n; i++) {
            keep[i] = DropoutMask.keep(seed, i, p);
        }
        return keep;
    }

    @Test
    void vectorLoopsGiveTheScalarMask() {
        Random rng = new Random(5);
        // Crosses the per-task chunk and leaves a scalar tail.
        int n = (1 << 15) * 2 + 13;
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) rng.nextGaussian();
        }
        double p = 0.1;
        long seed = 987654321L;
        boolean[] keep = scalarMask(seed, n, p);
        float inv = (float) (1.0 / (1.0 - p));
        float[] applied = new float[n];
        DropoutMask.apply(x, applied, n, seed, p);
        float[] added = new float[n];
        java.util.Arrays.fill(added, 1f);
        DropoutMask.addMasked(x, added, n, seed, p);
        for (int i = 0; i < n; i++) {
            float want = keep[i] ? x[i] * inv : 0f;
            assertEquals(want, applied[i], 0f, "apply at " + i);
            assertEquals(1f + want, added[i], 0f, "addMasked at " + i);
        }
    }

    /**
     * LoRA hands both calls reused arrays longer than the tensor: the first n elements come out as
     * with arrays of exactly n, and the rest is left alone.
     */
    @Test
    void touchesOnlyTheFirstNElements() {
        int n = (1 << 15) + 21;
        float[] src = new float[n + 100];
        for (int i = 0; i < src.length; i++) {
            src[i] = i % 7 - 3f;
        }
        float[] exact = java.util.Arrays.copyOf(src, n);
        float[] want = new float[n];
        DropoutMask.addMasked(exact, want, n, 77, 0.2);
        float[] added = new float[n + 50];
        java.util.Arrays.fill(added, n, added.length, 5f);
        DropoutMask.addMasked(src, added, n, 77, 0.2);
        float[] applied = new float[n + 50];
        java.util.Arrays.fill(applied, n, applied.length, 5f);
        DropoutMask.apply(src, applied, n, 77, 0.2);
        for (int i = 0; i < n; i++) {
            assertEquals(want[i], added[i], 0f, "addMasked at " + i);
            assertEquals(want[i], applied[i], 0f, "apply at " + i);
        }
        for (int i = n; i < added.length; i++) {
            assertEquals(5f, added[i], 0f, "addMasked past n at " + i);
            assertEquals(5f, applied[i], 0f, "apply past n at " + i);
        }
        assertThrows(IllegalArgumentException.class, () -> DropoutMask.addMasked(new float[3], new float[4], 4, 1, 0.5));
    }

    @Test
    void dropsTheRequestedFractionIndependentlyPerSeed() {
        int n = 1 << 20;
        double p = 0.25;
        boolean[] a = scalarMask(1, n, p);
        boolean[] b = scalarMask(2, n, p);
        int droppedA = 0;
        int both = 0;
        for (int i = 0; i < n; i++) {
            droppedA += a[i] ? 0 : 1;
            both += !a[i] && !b[i] ? 1 : 0;
        }
        // Binomial standard deviations are ~0.0004 and ~0.0003 of n here.
        assertEquals(p, droppedA / (double) n, 0.003);
        assertEquals(p * p, both / (double) n, 0.003);
        assertTrue(scalarMask(1, 16, 0)[0], "p 0 keeps everything");
    }
}
