package dev.gemmalora.io;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Stream;

/**
 * All tensors of a checkpoint folder: one model.safetensors, or the shards listed by
 * model.safetensors.index.json, each memory-mapped.
 */
public final class CheckpointTensors {
    public static final String INDEX = "model.safetensors.index.json";
    private final Map<String, TensorData> tensors;

    private CheckpointTensors(Map<String, TensorData> tensors) {
        this.tensors = tensors;
    }

    public static CheckpointTensors open(Path dir) {
        Map<String, TensorData> all = new LinkedHashMap<>();
        Path index = dir.resolve(INDEX);
        if (Files.isRegularFile(index)) {
            JsonNode weightMap = Json.read(index).path("weight_map");
            if (!weightMap.isObject()) {
                throw new InputException(index + ": field 'weight_map' missing, expected an object of tensor -> shard file");
            }
            Map<String, SafeTensorsFile> shards = new HashMap<>();
            for (var it = weightMap.fields(); it.hasNext(); ) {
                var e = it.next();
                SafeTensorsFile shard = shards.computeIfAbsent(e.getValue().asText(), f -> SafeTensorsFile.open(dir.resolve(f)));
                all.put(e.getKey(), shard.get(e.getKey()));
            }
        } else if (Files.isRegularFile(dir.resolve("model.safetensors"))) {
            all.putAll(SafeTensorsFile.open(dir.resolve("model.safetensors")).tensors());
        } else {
            try (Stream<Path> files = Files.list(dir)) {
                var list = files.filter(p -> p.getFileName().toString().endsWith(".safetensors")).sorted().toList();
                if (list.isEmpty()) {
                    throw new InputException(dir + ": no model.safetensors, " + INDEX + " or *.safetensors file");
                }
                for (Path p : list) {
                    all.putAll(SafeTensorsFile.open(p).tensors());
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return new CheckpointTensors(all);
    }

    public Map<String, TensorData> all() {
        return tensors;
    }

    public TensorData find(String name) {
        return tensors.get(name);
    }
}
