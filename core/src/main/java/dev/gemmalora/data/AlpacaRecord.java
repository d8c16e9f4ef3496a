package dev.gemmalora.data;

/** One instruction-tuning example in the Alpaca format. */
public record AlpacaRecord(String instruction, String input, String output) {
}
