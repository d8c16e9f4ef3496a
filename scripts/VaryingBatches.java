import dev.gemmalora.bench.RandomModel;
import dev.gemmalora.lora.LoraAdapter;
import dev.gemmalora.lora.LoraConfig;
import dev.gemmalora.lora.LoraInit;
import dev.gemmalora.model.Backprop;
import dev.gemmalora.model.CrossEntropy;
import dev.gemmalora.model.GemmaConfig;
import dev.gemmalora.model.GemmaModel;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.util.Random;

/**
 * LoRA training steps (gradient checkpointing, r 8 on the seven projections) on random batches of
 * 4 rows whose padded length and padding change from step to step, as instruction data gives,
 * on a random gemma-2-2b-shaped model: the bench's training figure always has the same shape, so
 * it cannot show what reallocating arrays per shape costs. Prints each step, then the steps after
 * the first and the collectors' time over them. The batches are the same for every run (seed 3).
 * Arguments: layers steps.
 */
public final class VaryingBatches {
    public static void main(String[] args) {
        int layers = Integer.parseInt(args[0]);
        int steps = Integer.parseInt(args[1]);
        GemmaConfig c = RandomModel.config2b(layers);
        GemmaModel m = RandomModel.build(c, 1);
        LoraAdapter adapter = LoraInit.create(m, LoraConfig.of(8, 32, 0.1, false, LoraConfig.ALL_PROJECTIONS), 42);
        adapter.attach(m);
        Backprop backprop = new Backprop(m);
        Random r = new Random(3);
        double seconds = 0;
        long tokens = 0;
        long gcMillis = 0;
        for (int s = 0; s < steps; s++) {
            int len = 96 + r.nextInt(160);
            int[][] ids = new int[4][len];
            int[][] mask = new int[4][len];
            int[][] labels = new int[4][len];
            int real = 0;
            for (int b = 0; b < 4; b++) {
                int n = b == 0 ? len : 40 + r.nextInt(len - 40);
                for (int t = 0; t < len; t++) {
                    ids[b][t] = t < n ? 3 + r.nextInt(c.vocabSize() - 3) : 0;
                    mask[b][t] = t < n ? 1 : 0;
                    labels[b][t] = t < n && t > n / 2 ? ids[b][t] : CrossEntropy.IGNORE;
                }
                real += n;
            }
            long gc0 = gcMillis();
            long t0 = System.nanoTime();
            adapter.zeroGrad();
            backprop.lossAndGrad(ids, mask, labels, 1e-3, true, s);
            double sec = (System.nanoTime() - t0) / 1e9;
            long gc = gcMillis() - gc0;
            if (s > 0) {
                seconds += sec;
                tokens += real;
                gcMillis += gc;
            }
            System.out.printf("step %d: %d x %d, %d real tokens, %.2f s, collectors %d ms%n", s, 4, len, real, sec, gc);
        }
        System.out.printf("steps 1-%d: %.1f s, %.2f real tokens/s, collectors %.1f s%n", steps - 1, seconds, tokens / seconds,
                gcMillis / 1e3);
    }

    private static long gcMillis() {
        long ms = 0;
        for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
            ms += gc.getCollectionTime();
        }
        return ms;
    }
}
