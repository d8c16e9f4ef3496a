package dev.gemmalora.spark;

import java.io.Serializable;
import java.util.List;

/** The settings every executor scores with: the same as the single-process evaluation's. */
record EvalSpec(String modelDir, String tokenizerDir, List<String> tasks, boolean chatTemplate, int batch) implements Serializable {
}
