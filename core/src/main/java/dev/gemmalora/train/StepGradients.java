package dev.gemmalora.train;

import java.util.List;

/**
 * Where an optimizer step's micro-batches are computed: in this process ({@link LocalGradients})
 * or spread over a cluster. Either way the result is their sum in micro-batch order.
 */
public interface StepGradients {
    /**
     * The gradients of the window's micro-batches at the adapter's current weights, each scaled by
     * gradScale (1 / the window's label tokens), summed in order.
     */
    GradientSum compute(int step, List<Batches.Batch> window, double gradScale);

    /** Workers computing micro-batches (1 in this process), for the progress line. */
    default int workers() {
        return 1;
    }

    /** Where the micro-batches run, for the opening line: "" in this process, " on ..." elsewhere. */
    default String where() {
        return "";
    }
}
