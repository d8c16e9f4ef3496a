package dev.gemmalora.server;

import dev.gemmalora.cli.Main;

/** Adds serve to the gemma-lora command when this module is on the classpath. */
public final class ServePlugin implements Main.Plugin {
    @Override
    public Object command() {
        return new ServeCommand();
    }
}
