package dev.gemmalora.train;

/** Trainer settings; the defaults are the reference recipe's (HF Trainer defaults otherwise). */
public record TrainConfig(int epochs, int maxSteps, int batchSize, int gradAccum, double lr, int warmupSteps,
                          double maxGradNorm, int loggingSteps, int saveSteps, long seed, boolean gradientCheckpointing,
                          double beta1, double beta2, double eps, double weightDecay) implements java.io.Serializable {
    public static TrainConfig recipe() {
        return new TrainConfig(3, -1, 4, 4, 1e-4, 0, 1.0, 10, 100, 42, true, 0.9, 0.999, 1e-8, 0.0);
    }

    /**
     * The dropout seed of micro-batch i of optimizer step `step`: distinct for every micro-batch of
     * the run (64 slots a step, more when --grad-accum asks for more).
     */
    public long dropoutSeed(int step, int i) {
        return seed * 1_000_003L + (long) step * Math.max(64, gradAccum) + i;
    }
}
