package dev.gemmalora.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import org.junit.jupiter.api.Test;

/** Which rows of a padded training batch the layers compute (the loss and gradients are tested against HF in GoldenParityTest). */
class BackpropRowsTest {
    private static final int I = CrossEntropy.IGNORE;

    @Test
    void rightPaddingIsSkippedAndEveryOtherRowKept() {
        int[][] mask = {{1, 1, 1, 1}, {1, 1, 0, 0}, {1, 0, 0, 0}};
        int[][] labels = {{I, 5, 6, 7}, {I, 8, I, I}, {I, I, I, I}};
        assertArrayEquals(new int[] {0, 1, 2, 3, 4, 5, 8}, Backprop.computedRows(mask, labels));
    }

    @Test
    void aLabelAfterAMaskedPositionKeepsThatRow() {
        int[][] mask = {{1, 0, 0}};
        int[][] labels = {{I, I, 9}};
        assertArrayEquals(new int[] {0, 1}, Backprop.computedRows(mask, labels));
    }

    @Test
    void aBatchWithoutPaddingRunsWhole() {
        assertNull(Backprop.computedRows(new int[][] {{1, 1}, {1, 1}}, new int[][] {{I, 1}, {I, 2}}));
        assertNull(Backprop.computedRows(null, new int[][] {{I, 1}}));
    }
}
