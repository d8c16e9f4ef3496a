package dev.gemmalora;

import java.nio.file.Path;

/** Where the golden fixtures live; each can be pointed elsewhere with a system property. */
public final class GoldenPaths {
    private GoldenPaths() {
    }

    public static Path shared() {
        return Path.of(System.getProperty("shared.dir", "../shared"));
    }

    public static Path t1() {
        return Path.of(System.getProperty("golden.dir", shared().resolve("golden/t1").toString()));
    }

    public static Path mc() {
        return Path.of(System.getProperty("golden.mc.dir", shared().resolve("golden/t3").toString()));
    }

    public static Path tokenizer() {
        return Path.of(System.getProperty("golden.tokenizer", shared().resolve("tokenizers/gemma").toString()));
    }

    public static Path goldenRoot() {
        return shared().resolve("golden");
    }
}
