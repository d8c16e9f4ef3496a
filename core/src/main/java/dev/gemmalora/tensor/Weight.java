package dev.gemmalora.tensor;

import dev.gemmalora.io.DType;
import dev.gemmalora.io.TensorData;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * A frozen matrix [rows, cols] (HF's layout: rows = out features, cols = in features), repacked once
 * at load into the layout the GEMM kernels read: panels of {@link #PANEL} rows, each stored
 * column-major, so element (r, c) sits at ((r / PANEL) * cols + c) * PANEL + r % PANEL. The
 * forward kernels then read contiguous PANEL-row slices with no per-call transposition. BF16 stays BF16 (widened in
 * registers); F32 and F16 are held as F32. Rows are zero-padded to a whole panel.
 */
public final class Weight {
    /** Two vectors: the width of the kernels' register tile (16 rows with AVX2, 32 with AVX-512). */
    public static final int PANEL = 2 * Simd.LANES;
    static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final String name;
    private final DType dtype;
    private final int rows;
    private final int cols;
    /** The stored tensor until it is packed (null for a weight allocated in panel layout). */
    private TensorData source;
    private volatile MemorySegment data;

    private Weight(String name, DType dtype, int rows, int cols, TensorData source, MemorySegment data) {
        this.name = name;
        this.dtype = dtype == DType.BF16 ? DType.BF16 : DType.F32;
        this.rows = rows;
        this.cols = cols;
        this.source = source;
        this.data = data;
    }

    /** An all-zero weight in panel layout, for callers that fill {@link #data()} themselves. */
    public static Weight allocate(String name, DType dtype, int rows, int cols) {
        Weight w = new Weight(name, dtype, rows, cols, null, null);
        w.data = w.allocatePanels();
        return w;
    }

    /**
     * A stored 2-D tensor, repacked on first use (so commands that only read shapes, like inspect
     * and merge, never pay for it). A memory-mapped source is then released from memory, so the
     * model is resident once, as panels, not twice.
     */
    public static Weight of(TensorData t) {
        if (t.shape().length != 2) {
            throw new IllegalArgumentException(t.name() + ": expected a 2-D tensor, got shape " + java.util.Arrays.toString(t.shape()));
        }
        return new Weight(t.name(), t.dtype(), t.dim(0), t.dim(1), t, null);
    }

    private MemorySegment allocatePanels() {
        return HugePages.allocate((long) panels(rows) * PANEL * cols * dtype.bytes);
    }

    /** Called from the kernels' entry points, on the calling thread, before any parallel work. */
    private synchronized MemorySegment pack() {
        if (data == null) {
            MemorySegment d = allocatePanels();
            TensorData t = source;
            Parallel.forRange(panels(rows), p -> packPanel(t, d, p));
            if (t.data().isMapped()) {
                t.data().unload();
            }
            source = null;
            data = d;
        }
        return data;
    }

    private void packPanel(TensorData t, MemorySegment data, int p) {
        int r0 = p * PANEL;
        int n = Math.min(PANEL, rows - r0);
        long base = (long) p * cols * PANEL;
        if (dtype == DType.BF16) {
            short[] row = new short[cols];
            short[] panel = new short[cols * PANEL];
            for (int r = 0; r < n; r++) {
                MemorySegment.copy(t.data(), I16, (long) (r0 + r) * cols * 2, row, 0, cols);
                for (int c = 0; c < cols; c++) {
                    panel[c * PANEL + r] = row[c];
                }
            }
            MemorySegment.copy(panel, 0, data, I16, base * 2, panel.length);
        } else {
            float[] panel = new float[cols * PANEL];
            for (int r = 0; r < n; r++) {
                long src = (long) (r0 + r) * cols;
                for (int c = 0; c < cols; c++) {
                    panel[c * PANEL + r] = t.get(src + c);
                }
            }
            MemorySegment.copy(panel, 0, data, F32, base * 4, panel.length);
        }
    }

    static int panels(int rows) {
        return (rows + PANEL - 1) / PANEL;
    }

    public String name() {
        return name;
    }

    /** BF16 or F32: the dtype of the panels (F16 is held as F32). */
    public DType dtype() {
        return dtype;
    }

    public int rows() {
        return rows;
    }

    public int cols() {
        return cols;
    }

    /** The panels (packed now if this is their first use); padding rows are zero. */
    public MemorySegment data() {
        MemorySegment d = data;
        return d != null ? d : pack();
    }

    /** Element index of (r, c) in {@link #data()}. */
    long index(int r, int c) {
        return ((long) (r / PANEL) * cols + c) * PANEL + r % PANEL;
    }

    public float get(int r, int c) {
        return at(data(), index(r, c));
    }

    /** Widens row r into dst[off .. off+cols) (an embedding lookup: a strided read, used for few rows). */
    public void row(int r, float[] dst, int off) {
        MemorySegment d = data();
        long i = index(r, 0);
        for (int c = 0; c < cols; c++, i += PANEL) {
            dst[off + c] = at(d, i);
        }
    }

    private float at(MemorySegment d, long i) {
        return dtype == DType.BF16 ? DType.bf16ToFloat(d.getAtIndex(I16, i)) : d.getAtIndex(F32, i);
    }
}
