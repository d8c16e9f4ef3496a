package dev.gemmalora.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gemmalora.io.Json;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Keeps `bench` working: one layer of the real shape, tiny token counts; no figure is judged here. */
class BenchCommandTest {
    @Test
    void smokeRunWritesEveryJsonField(@TempDir Path dir) {
        Path json = dir.resolve("bench.json");
        CliTest.Run r = CliTest.run("bench", "--layers", "1", "--seq", "4", "--train-batch", "1", "--score-batch", "1",
                "--decode-steps", "1", "--runs", "1", "--bandwidth-mb", "64", "--json", json.toString());
        assertEquals(0, r.code(), r.err());
        JsonNode j = Json.read(json);
        for (String f : new String[] {"/peak_gflops", "/bandwidth_gbps", "/gemm/gflops", "/gemm/mfu", "/train/tokens_per_s", "/train/mfu",
                "/train_checkpointed/tokens_per_s", "/train_checkpointed/mfu", "/score/tokens_per_s", "/score/mfu",
                "/decode_b1/tokens_per_s", "/decode_b1/bandwidth_fraction", "/decode_b8/tokens_per_s", "/peak_rss_bytes", "/threads", "/layers",
                "/train/fma_loop_gflops_after", "/score/fma_loop_gflops_after", "/decode_b1/bandwidth_gbps_after",
                "/gemm/thread_scaling", "/gemm/gate_proj_1_thread_gflops", "/gemm/thread_scaling_pairs", "/gemm/fma_loop_thread_scaling",
                "/decode_b1/bandwidth_bound_gbps",
                "/gemm/fma_loop_fraction", "/train/fma_loop_fraction", "/simd_lanes"}) {
            assertTrue(!j.at(f).isMissingNode() && j.at(f).asDouble() > 0, f + " in " + j);
        }
        if (Files.isReadable(Path.of("/proc/stat"))) { // gemm's timed runs last seconds, long enough for the tick counts
            double steal = j.at("/gemm/cpu_steal_fraction").asDouble(-1);
            assertTrue(steal >= 0 && steal <= 1, "cpu_steal_fraction " + steal);
        }
        assertTrue(r.out().contains("figure") && r.out().contains("decode_b1") && r.out().contains("machine after") && r.out().contains("of loop") && r.out().contains("steal")
                && r.out().contains("GB/s right after") && r.out().contains("the FMA loop in the same minutes"), r.out());
    }
}
