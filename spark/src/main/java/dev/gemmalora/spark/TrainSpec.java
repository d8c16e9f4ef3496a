package dev.gemmalora.spark;

import dev.gemmalora.lora.LoraConfig;
import dev.gemmalora.train.TrainConfig;
import java.io.Serializable;

/**
 * What every executor needs to compute a training micro-batch: where the model is (the same path
 * on every node), the LoRA layout and the trainer settings. failAt ("STEP:INDEX", or null) makes
 * that micro-batch's first attempt fail after computing, to test that a retried task changes nothing.
 */
record TrainSpec(String modelDir, LoraConfig lora, TrainConfig train, String failAt) implements Serializable {
}
