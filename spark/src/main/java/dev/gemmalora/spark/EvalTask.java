package dev.gemmalora.spark;

import dev.gemmalora.eval.TruthfulQaData;
import java.io.Serializable;
import java.util.List;

/** A run of consecutive questions to score on one model: the base (adapterDir null) or an adapter. */
record EvalTask(String adapterDir, List<TruthfulQaData.Question> questions) implements Serializable {
}
