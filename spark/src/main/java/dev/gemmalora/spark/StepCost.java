package dev.gemmalora.spark;

/**
 * What one optimizer step cost beyond its arithmetic. Bytes: the LoRA weights broadcast once to
 * each executor that ran one of its micro-batches plus the micro-batches' tokens (out), and one
 * gradient per micro-batch (back), as payload (Java serialization adds a few hundred bytes per
 * object). taskSeconds: the time the tasks spent computing their micro-batches, so that a step's
 * wall time minus it (one executor thread) is what Spark added.
 */
record StepCost(long toExecutors, long fromExecutors, int executors, int microBatches, double taskSeconds) {
}
