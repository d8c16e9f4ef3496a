package dev.gemmalora.spark;

import dev.gemmalora.train.MicroBatchGradient;
import java.io.Serializable;

/** A micro-batch's gradient and the executor that computed it. */
record TaskGradient(MicroBatchGradient gradient, String executor) implements Serializable {
}
