package dev.gemmalora.spark;

/**
 * What one optimizer step moved: the LoRA weights broadcast once to each executor that ran one of
 * its micro-batches plus the micro-batches' tokens (out), and one gradient per micro-batch (back).
 * Payload bytes; Java serialization adds a few hundred bytes per object.
 */
record StepTraffic(long toExecutors, long fromExecutors, int executors, int microBatches) {
}
