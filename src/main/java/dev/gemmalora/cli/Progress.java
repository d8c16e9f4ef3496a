package dev.gemmalora.cli;

import java.time.Duration;
import me.tongfei.progressbar.DelegatingProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * Progress bars on stderr with elapsed time and ETA. On a terminal the bar redraws in place; when
 * stderr is a file or pipe (CI logs, nohup) it prints a plain line every 30 seconds instead.
 */
final class Progress {
    private Progress() {
    }

    static ProgressBar start(String task, long total, long done, Duration elapsedBefore) {
        ProgressBarBuilder b = new ProgressBarBuilder().setTaskName(task).setInitialMax(total)
                .setStyle(ProgressBarStyle.ASCII).setMaxRenderedLength(120);
        if (done > 0) {
            b.startsFrom(done, elapsedBefore);
        }
        if (System.console() == null) {
            b.setUpdateIntervalMillis(30_000).setConsumer(new DelegatingProgressBarConsumer(System.err::println, 120));
        } else {
            b.setUpdateIntervalMillis(500);
        }
        return b.build();
    }

    static ProgressBar start(String task, long total) {
        return start(task, total, 0, Duration.ZERO);
    }
}
