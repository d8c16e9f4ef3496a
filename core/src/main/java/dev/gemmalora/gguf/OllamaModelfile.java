package dev.gemmalora.gguf;

import java.nio.file.Path;

/**
 * An Ollama Modelfile for an exported Gemma: FROM the GGUF file (and ADAPTER for a GGUF LoRA),
 * Gemma's turn format as an Ollama (Go text/template) TEMPLATE, and the turn tags as stop
 * strings. Paths are written relative to the Modelfile's folder, where Ollama resolves them.
 */
public final class OllamaModelfile {
    /**
     * Gemma's chat format: a system message goes in as a user turn (Gemma has no system role), the
     * reply is opened with "<start_of_turn>model\n". llama.cpp adds <bos> itself (add_bos_token).
     */
    static final String TEMPLATE = """
            {{- range $i, $_ := .Messages }}
            {{- $last := eq (len (slice $.Messages $i)) 1 }}
            {{- if eq .Role "assistant" }}<start_of_turn>model
            {{ .Content }}{{ if not $last }}<end_of_turn>
            {{ end }}
            {{- else }}<start_of_turn>user
            {{ .Content }}<end_of_turn>
            {{ if $last }}<start_of_turn>model
            {{ end }}
            {{- end }}
            {{- end }}""";

    private OllamaModelfile() {
    }

    public static String forModel(Path modelfile, Path gguf) {
        return "FROM " + relative(modelfile, gguf) + "\n" + common();
    }

    public static String forAdapter(Path modelfile, Path baseGguf, Path adapterGguf) {
        return "FROM " + relative(modelfile, baseGguf) + "\nADAPTER " + relative(modelfile, adapterGguf) + "\n" + common();
    }

    private static String common() {
        return "TEMPLATE \"\"\"" + TEMPLATE + "\"\"\"\n"
                + "PARAMETER stop \"<start_of_turn>\"\n"
                + "PARAMETER stop \"<end_of_turn>\"\n";
    }

    /** ./name for a file beside the Modelfile, else the path from the Modelfile's folder. */
    static String relative(Path modelfile, Path target) {
        Path dir = modelfile.toAbsolutePath().normalize().getParent();
        Path rel = dir.relativize(target.toAbsolutePath().normalize());
        return rel.getNameCount() == 1 ? "./" + rel : rel.toString();
    }

    /** FILE.gguf's Modelfile: FILE.Modelfile beside it. */
    public static Path beside(Path gguf) {
        String name = gguf.getFileName().toString();
        String stem = name.endsWith(".gguf") ? name.substring(0, name.length() - ".gguf".length()) : name;
        return gguf.resolveSibling(stem + ".Modelfile");
    }
}
