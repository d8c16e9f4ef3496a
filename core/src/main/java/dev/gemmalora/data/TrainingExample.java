package dev.gemmalora.data;

/** One tokenized training example: ids, attention mask and labels (-100 = not predicted). */
public record TrainingExample(int[] ids, int[] mask, int[] labels) {
}
