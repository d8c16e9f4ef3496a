package dev.gemmalora.train;

/** The loss became NaN or infinite; training stops before the step's update touches the adapter. */
public final class DivergedException extends RuntimeException {
    private final int step;

    public DivergedException(int step, double loss) {
        super("loss became " + loss + " at step " + step);
        this.step = step;
    }

    /** The same divergence, told with what to do next. */
    public DivergedException(String message, int step) {
        super(message);
        this.step = step;
    }

    public int step() {
        return step;
    }
}
