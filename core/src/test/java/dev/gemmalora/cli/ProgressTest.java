package dev.gemmalora.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import me.tongfei.progressbar.ProgressBar;
import org.junit.jupiter.api.Test;

class ProgressTest {
    /** Tests run without a console, so this is the plain-line path that logs and pipes get. */
    @Test
    void aFinishedBarIsLoggedOnce() throws InterruptedException {
        PrintStream old = System.err;
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        System.setErr(new PrintStream(err, true));
        try (ProgressBar bar = Progress.start("job", 3)) {
            Thread.sleep(200); // the bar's first render, at 0, happens on its own thread
            bar.stepTo(3);
        } finally {
            System.setErr(old);
        }
        assertEquals(1, err.toString().lines().filter(l -> l.contains("3/3")).count(), err.toString());
    }
}
