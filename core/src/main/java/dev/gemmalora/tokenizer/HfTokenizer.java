package dev.gemmalora.tokenizer;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import dev.gemmalora.io.InputException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * A Hugging Face tokenizer.json run by the tokenizers library itself (through DJL's binding, whose
 * native code ships inside its jar), so encoding is exactly what Python produces.
 */
public final class HfTokenizer implements Tokenizer, AutoCloseable {
    private final HuggingFaceTokenizer tokenizer;
    private final ChatTemplate.Style chatStyle;

    private HfTokenizer(HuggingFaceTokenizer tokenizer, ChatTemplate.Style chatStyle) {
        this.tokenizer = tokenizer;
        this.chatStyle = chatStyle;
    }

    /** Loads dir/tokenizer.json (dir may also be the file itself). */
    public static HfTokenizer load(Path dir) {
        Path file = Files.isDirectory(dir) ? dir.resolve("tokenizer.json") : dir;
        if (!Files.isRegularFile(file)) {
            throw new InputException(file + ": not found; pass --tokenizer with a folder holding the model's tokenizer.json");
        }
        try {
            // No truncation or padding: the caller decides lengths.
            return new HfTokenizer(HuggingFaceTokenizer.newInstance(file, Map.of(
                    "addSpecialTokens", "true", "truncation", "false", "padding", "false", "modelMaxLength", "100000000")),
                    ChatTemplate.Style.of(file.resolveSibling("tokenizer_config.json")));
        } catch (IOException e) {
            throw new UncheckedIOException(file + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            throw new InputException(file + ": not a valid Hugging Face tokenizer.json (" + e.getMessage() + ")");
        }
    }

    @Override
    public int[] encode(String text, boolean addSpecialTokens) {
        Encoding enc = tokenizer.encode(text, addSpecialTokens, false);
        long[] ids = enc.getIds();
        int[] out = new int[ids.length];
        for (int i = 0; i < ids.length; i++) {
            out[i] = (int) ids[i];
        }
        return out;
    }

    @Override
    public String decode(int[] ids, boolean skipSpecialTokens) {
        long[] l = new long[ids.length];
        for (int i = 0; i < ids.length; i++) {
            l[i] = ids[i];
        }
        return tokenizer.decode(l, skipSpecialTokens);
    }

    @Override
    public int tokenId(String token) {
        long[] ids = tokenizer.encode(token, false, false).getIds();
        return ids.length == 1 ? (int) ids[0] : -1;
    }

    @Override
    public ChatTemplate.Style chatStyle() {
        return chatStyle;
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
