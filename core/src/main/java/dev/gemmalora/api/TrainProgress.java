package dev.gemmalora.api;

/** One optimizer step: its loss, learning rate, gradient norm (before clipping), speed, and the workers that computed it. */
public record TrainProgress(int step, int totalSteps, double epoch, double loss, double learningRate, double gradNorm,
                            double tokensPerSecond, int workers) {
}
