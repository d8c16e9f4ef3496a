package dev.gemmalora.api;

import java.nio.file.Path;

/**
 * How a training run ended: the PEFT adapter folder (null when it stopped early), the step reached,
 * the checkpoint that holds it, the metrics file and the loss plot (null when stopped).
 */
public record TrainResult(Path adapter, int step, int totalSteps, Path checkpoint, Path metrics, Path lossCurve) {
    /** It stopped on request before the last step; {@link #checkpoint} resumes it (TrainOptions.resume). */
    public boolean stopped() {
        return adapter == null;
    }
}
