package dev.gemmalora.cli;

import java.time.Duration;
import java.util.function.Consumer;
import me.tongfei.progressbar.DelegatingProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * Progress bars on stderr with elapsed time and ETA. On a terminal the bar redraws in place; when
 * stderr is a file or pipe (CI logs, nohup) it prints a plain line every 30 seconds instead.
 */
public final class Progress {
    private Progress() {
    }

    public static ProgressBar start(String task, long total, long done, Duration elapsedBefore) {
        ProgressBarBuilder b = new ProgressBarBuilder().setTaskName(task).setInitialMax(total)
                .setStyle(ProgressBarStyle.ASCII).setMaxRenderedLength(120);
        if (done > 0) {
            b.startsFrom(done, elapsedBefore);
        }
        if (System.console() == null) {
            b.setUpdateIntervalMillis(30_000).setConsumer(new DelegatingProgressBarConsumer(withoutRepeats(), 120));
        } else {
            b.setUpdateIntervalMillis(500);
        }
        return b.build();
    }

    /**
     * Prints lines to stderr, skipping one identical to the line before: the library renders a
     * finished bar both on its last update and again on close, which in a log doubled every last line.
     */
    private static Consumer<String> withoutRepeats() {
        String[] last = {null};
        return line -> {
            if (!line.equals(last[0])) {
                System.err.println(line);
            }
            last[0] = line;
        };
    }

    public static ProgressBar start(String task, long total) {
        return start(task, total, 0, Duration.ZERO);
    }
}
