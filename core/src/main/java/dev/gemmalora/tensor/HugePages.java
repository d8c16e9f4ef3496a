package dev.gemmalora.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * Zeroed off-heap memory that Linux may back with 2 MiB pages: anonymous mmap, then
 * madvise(MADV_HUGEPAGE) before the first touch, which transparent huge pages in "madvise" mode
 * require. Streaming the weights then crosses a page, and misses the TLB, every 2 MiB instead
 * of every 4 KiB. Falls back to an ordinary allocation where the calls are not there.
 */
public final class HugePages {
    private static final long HUGE = 2L << 20;
    private static final int PROT_READ_WRITE = 0x3;
    private static final int MAP_PRIVATE_ANONYMOUS = 0x22;
    private static final int MADV_HUGEPAGE = 14;
    private static final MethodHandle MMAP;
    private static final MethodHandle MADVISE;
    private static final MethodHandle MUNMAP;

    static {
        MethodHandle mmap = null;
        MethodHandle madvise = null;
        MethodHandle munmap = null;
        if (System.getProperty("os.name", "").startsWith("Linux")) {
            try {
                Linker linker = Linker.nativeLinker();
                var libc = linker.defaultLookup();
                mmap = linker.downcallHandle(libc.find("mmap").orElseThrow(), FunctionDescriptor.of(ValueLayout.ADDRESS,
                        ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
                        ValueLayout.JAVA_LONG));
                madvise = linker.downcallHandle(libc.find("madvise").orElseThrow(),
                        FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT));
                munmap = linker.downcallHandle(libc.find("munmap").orElseThrow(),
                        FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG));
            } catch (RuntimeException | LinkageError e) {
                mmap = null;
            }
        }
        MMAP = mmap;
        MADVISE = madvise;
        MUNMAP = munmap;
    }

    private HugePages() {
    }

    /** bytes of zeroed memory, 64-byte aligned at least, freed when unreachable. */
    public static MemorySegment allocate(long bytes) {
        if (MMAP == null || bytes < HUGE) {
            return Arena.ofAuto().allocate(bytes, 64);
        }
        try {
            MemorySegment at = (MemorySegment) MMAP.invokeExact(MemorySegment.NULL, bytes, PROT_READ_WRITE, MAP_PRIVATE_ANONYMOUS, -1, 0L);
            if (at.address() == -1L) {
                return Arena.ofAuto().allocate(bytes, 64);
            }
            int ignored = (int) MADVISE.invokeExact(at, bytes, MADV_HUGEPAGE); // only a hint: small pages if refused
            return at.reinterpret(bytes, Arena.ofAuto(), s -> unmap(s.address(), bytes));
        } catch (Throwable e) {
            return Arena.ofAuto().allocate(bytes, 64);
        }
    }

    private static void unmap(long address, long bytes) {
        int rc;
        try {
            rc = (int) MUNMAP.invokeExact(MemorySegment.ofAddress(address), bytes);
        } catch (Throwable e) {
            throw new IllegalStateException("munmap failed", e);
        }
        if (rc != 0) {
            throw new IllegalStateException("munmap of " + bytes + " bytes failed");
        }
    }
}
