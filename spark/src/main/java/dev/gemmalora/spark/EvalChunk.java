package dev.gemmalora.spark;

import java.io.Serializable;
import java.util.List;

/**
 * The results rows of an EvalTask as JSON text, in question order, and the primer positions the
 * executor computed for it (non-zero when this task was its first on this model).
 */
record EvalChunk(List<String> rows, long primerPositions) implements Serializable {
}
