package dev.gemmalora.io;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;

/**
 * Writes model weights as transformers' save_pretrained does: one model.safetensors, or shards
 * model-0000i-of-0000n.safetensors of at most maxShardBytes plus model.safetensors.index.json.
 * Each tensor passes through a transform as it is written, so only one is materialised at a time.
 */
public final class CheckpointWriter {
    /** transformers' default max_shard_size, "5GB" (decimal). */
    public static final long DEFAULT_SHARD_BYTES = 5_000_000_000L;

    private CheckpointWriter() {
    }

    public static void write(Path dir, List<TensorData> tensors, long maxShardBytes, UnaryOperator<TensorData> transform)
            throws IOException {
        List<List<TensorData>> shards = new ArrayList<>();
        List<TensorData> current = new ArrayList<>();
        long size = 0;
        long total = 0;
        for (TensorData t : tensors) {
            long bytes = t.data().byteSize();
            if (!current.isEmpty() && size + bytes > maxShardBytes) {
                shards.add(current);
                current = new ArrayList<>();
                size = 0;
            }
            current.add(t);
            size += bytes;
            total += bytes;
        }
        shards.add(current);
        Map<String, String> meta = Map.of("format", "pt");
        if (shards.size() == 1) {
            SafeTensorsWriter.write(dir.resolve("model.safetensors"), shards.get(0), meta, transform);
            return;
        }
        ObjectNode index = Json.MAPPER.createObjectNode();
        index.putObject("metadata").put("total_size", total);
        ObjectNode map = index.putObject("weight_map");
        for (int i = 0; i < shards.size(); i++) {
            String name = String.format("model-%05d-of-%05d.safetensors", i + 1, shards.size());
            SafeTensorsWriter.write(dir.resolve(name), shards.get(i), meta, transform);
            shards.get(i).forEach(t -> map.put(t.name(), name));
        }
        Files.writeString(dir.resolve(CheckpointTensors.INDEX), Json.write(index));
    }
}
