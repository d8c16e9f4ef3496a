package dev.gemmalora.report;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class EvalReportTest {
    @Test
    void differencesKeepTheirSignUnlessTheyRoundToZero() {
        assertEquals("+0.1685", EvalReport.signed(0.16846));
        assertEquals("-0.0012", EvalReport.signed(-0.00115));
        assertEquals("+0.0000", EvalReport.signed(-1e-9));
        assertEquals("+0.0000", EvalReport.signed(-0.0));
        assertEquals("+0.0000", EvalReport.signed(2e-5));
    }
}
