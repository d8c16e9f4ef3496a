package dev.gemmalora.lora;

import dev.gemmalora.model.Adapter;
import dev.gemmalora.model.GemmaModel;
import dev.gemmalora.model.Linear;
import java.util.ArrayList;
import java.util.List;

/**
 * Several LoRA adapters on one model at once, for inference: the base weights are shared and each
 * batch row adds its own adapter's low-rank update (or none). {@link #route} says which adapter
 * each row of the next forward uses.
 */
public final class AdapterSet {
    private final List<LoraAdapter> adapters = new ArrayList<>();
    /** Adapter index of each batch row of the next forward; -1: the base model alone. */
    private int[] rowAdapter = new int[0];
    private int tokensPerRow = 1;
    /** When not null, every token of the next forwards uses this adapter (-1: none), whatever the batch's layout. */
    private Integer everyToken;

    /** Puts a router on every projection of model, replacing any adapter attached there. */
    public AdapterSet(GemmaModel model) {
        for (Linear l : model.linears()) {
            l.setAdapter(new Router(l.module()));
        }
    }

    /** Adds an adapter (loaded for this model) and returns its index for {@link #route}. */
    public int add(LoraAdapter adapter) {
        adapters.add(adapter);
        return adapters.size() - 1;
    }

    /** The next forward's rows: row b uses adapter rowAdapter[b] (-1: none) for its tokensPerRow tokens. */
    public void route(int[] rowAdapter, int tokensPerRow) {
        this.rowAdapter = rowAdapter.clone();
        this.tokensPerRow = tokensPerRow;
        this.everyToken = null;
    }

    /** Every token of the next forwards uses adapter (-1: none), padded batches included (scoring). */
    public void routeAll(int adapter) {
        this.everyToken = adapter;
    }

    /**
     * One projection's adapters. Each adapter's rows are gathered and its update computed into
     * zeros, then added: a row gets the same bits whichever rows and adapters share its batch.
     */
    private final class Router implements Adapter {
        private final String module;

        Router(String module) {
            this.module = module;
        }

        @Override
        public void addForward(float[] x, int tokens, float[] y) {
            if (everyToken != null) {
                LoraPair pair = everyToken < 0 ? null : adapters.get(everyToken).pairs().get(module);
                if (pair != null) {
                    pair.addForward(x, tokens, y);
                }
                return;
            }
            if (tokens != rowAdapter.length * tokensPerRow) {
                throw new IllegalStateException(module + ": " + tokens + " tokens, routed " + rowAdapter.length + " rows of "
                        + tokensPerRow);
            }
            for (int a = 0; a < adapters.size(); a++) {
                LoraPair pair = adapters.get(a).pairs().get(module);
                if (pair == null) {
                    continue;
                }
                // x and y may be reused buffers longer than tokens rows: the pair knows its widths.
                int in = pair.in;
                int out = pair.out;
                int n = 0;
                for (int r : rowAdapter) {
                    n += r == a ? tokensPerRow : 0;
                }
                if (n == 0) {
                    continue;
                }
                float[] xs = new float[n * in];
                int t = 0;
                for (int b = 0; b < rowAdapter.length; b++) {
                    if (rowAdapter[b] == a) {
                        System.arraycopy(x, b * tokensPerRow * in, xs, t * in, tokensPerRow * in);
                        t += tokensPerRow;
                    }
                }
                float[] ys = new float[n * out];
                pair.addForward(xs, n, ys);
                t = 0;
                for (int b = 0; b < rowAdapter.length; b++) {
                    if (rowAdapter[b] == a) {
                        int off = b * tokensPerRow * out;
                        for (int i = 0; i < tokensPerRow * out; i++) {
                            y[off + i] += ys[t * out + i];
                        }
                        t += tokensPerRow;
                    }
                }
            }
        }

        @Override
        public Saved addForwardTrain(float[] x, int tokens, float[] y, long seed) {
            throw new UnsupportedOperationException("an adapter set serves inference only; train one adapter at a time");
        }

        @Override
        public void backward(Saved saved, float[] dy, int tokens, float[] dx) {
            throw new UnsupportedOperationException("an adapter set serves inference only; train one adapter at a time");
        }
    }
}
