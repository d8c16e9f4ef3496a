package dev.gemmalora.api;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * A finished evaluation: each model's metrics (base first, then each adapter by name: mc1, mc2,
 * and the gen and binary metrics when scored), and the report files.
 */
public record EvalResult(List<String> models, Map<String, Map<String, Double>> metrics, Path reportHtml, Path reportMd) {
}
