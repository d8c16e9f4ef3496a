package dev.gemmalora.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Per-thread work buffers, numbered, that grow to the largest size asked for and are then reused,
 * so the kernels allocate nothing per call once warm.
 */
final class ThreadScratch {
    private final ThreadLocal<float[][]> arrays;
    private final ThreadLocal<MemorySegment[]> segments;

    ThreadScratch(int arrays, int segments) {
        this.arrays = ThreadLocal.withInitial(() -> new float[arrays][0]);
        this.segments = ThreadLocal.withInitial(() -> {
            MemorySegment[] s = new MemorySegment[segments];
            java.util.Arrays.fill(s, MemorySegment.NULL);
            return s;
        });
    }

    /** Heap buffer `which` of this thread, at least n floats. */
    float[] floats(int which, int n) {
        float[][] s = arrays.get();
        if (s[which].length < n) {
            s[which] = new float[n];
        }
        return s[which];
    }

    /**
     * Off-heap buffer `which` of this thread, at least n floats, 64-byte aligned: a heap array's
     * alignment is left to the collector, and a vector load split across two cache lines halves
     * the kernel's load rate.
     */
    MemorySegment aligned(int which, long floats) {
        MemorySegment[] s = segments.get();
        if (s[which].byteSize() < floats * 4) {
            s[which] = Arena.ofAuto().allocate(floats * 4, 64);
        }
        return s[which];
    }
}
