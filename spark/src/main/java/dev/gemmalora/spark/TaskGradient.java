package dev.gemmalora.spark;

import dev.gemmalora.train.MicroBatchGradient;
import java.io.Serializable;

/** A micro-batch's gradient, the executor that computed it and the seconds its computation took there. */
record TaskGradient(MicroBatchGradient gradient, String executor, double seconds) implements Serializable {
}
