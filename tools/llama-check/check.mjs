// Loads a GGUF file in llama.cpp and answers what a test asks, as JSON on stdout:
//   tokens: the ids llama.cpp gives each text (special tokens parsed, no BOS added),
//   logits: the raw next-token logits after each id list (the whole vocabulary, by id),
//   greedy: the ids llama.cpp picks greedily after an id list.
// Usage: node check.mjs REQUEST.json, the request being
//   {"model": FILE, "lora": FILE|null, "texts": [...], "logits": [[ids]...], "greedy": {"ids": [...], "steps": N}}
import fs from "node:fs";
import {getLlama, LlamaLogLevel} from "node-llama-cpp";

const req = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
// The prebuilt CPU binaries only: never download or build llama.cpp from a test.
const llama = await getLlama({gpu: false, build: "never", usePrebuiltBinaries: true, progressLogs: false,
    logLevel: LlamaLogLevel.error});
const model = await llama.loadModel({modelPath: req.model});
const out = {};
out.tokens = (req.texts ?? []).map(t => Array.from(model.tokenize(t, true)));

// f32 keys and values in the cache and no flash attention: llama.cpp's defaults (f16 cache)
// would round what the test compares.
const context = await model.createContext({
    contextSize: 512, sequences: 1, flashAttention: false, threads: 2,
    experimentalKvCacheKeyType: "F32", experimentalKvCacheValueType: "F32",
    ...(req.lora ? {lora: {adapters: [{filePath: req.lora, scale: 1}]}} : {})
});

const sequence = context.getSequence();
out.logits = [];
for (const ids of req.logits ?? []) {
    await sequence.clearHistory();
    const input = ids.slice(0, -1);
    input.push([ids[ids.length - 1], {generateNext: {logits: true}}]);
    const res = await sequence.controlledEvaluate(input);
    const logits = res[res.length - 1].next.logits;
    const row = new Array(logits.size).fill(null);
    for (const [token, logit] of logits) {
        row[token] = logit;
    }
    out.logits.push(row);
}

if (req.greedy) {
    await sequence.clearHistory();
    out.greedy = [];
    for await (const token of sequence.evaluate(req.greedy.ids, {temperature: 0})) {
        out.greedy.push(token);
        if (out.greedy.length >= req.greedy.steps) {
            break;
        }
    }
}
sequence.dispose();
process.stdout.write(JSON.stringify(out));
await context.dispose();
await model.dispose();
await llama.dispose();
