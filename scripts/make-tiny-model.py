#!/usr/bin/env python3
"""Writes the built-in tiny Gemma-2 checkpoint used by `gemma-lora quickstart`.

A random model with the real Gemma vocabulary (256,000 tokens, so the real tokenizer works) and
every Gemma-2 feature at toy size: 2 layers (one sliding-window), GQA, soft-capping, tied
embeddings. Weights are BF16 multiples of 1/256 (the embedding, most of the file, of 1/8), so git and
the jar compress them well.
It only shows the pipeline; its scores mean nothing. Standard library only:
    python3 scripts/make-tiny-model.py core/src/main/resources/dev/gemmalora/quickstart
"""
import json
import random
import struct
import sys

out = sys.argv[1]
cfg = {
    "architectures": ["Gemma2ForCausalLM"], "model_type": "gemma2", "torch_dtype": "bfloat16",
    "vocab_size": 256000, "hidden_size": 8, "intermediate_size": 32, "num_hidden_layers": 2,
    "num_attention_heads": 2, "num_key_value_heads": 1, "head_dim": 4, "query_pre_attn_scalar": 4,
    "sliding_window": 64, "attn_logit_softcapping": 50.0, "final_logit_softcapping": 30.0,
    "hidden_activation": "gelu_pytorch_tanh", "rms_norm_eps": 1e-06, "rope_theta": 10000.0,
    "max_position_embeddings": 8192, "tie_word_embeddings": True, "pad_token_id": 0,
    "bos_token_id": 2, "eos_token_id": [1, 107],
}
h, inter, heads, kv, hd = 8, 32, 2, 1, 4
shapes = {"model.embed_tokens.weight": [256000, h], "model.norm.weight": [h]}
for i in range(2):
    p = f"model.layers.{i}."
    shapes.update({
        p + "self_attn.q_proj.weight": [heads * hd, h], p + "self_attn.k_proj.weight": [kv * hd, h],
        p + "self_attn.v_proj.weight": [kv * hd, h], p + "self_attn.o_proj.weight": [h, heads * hd],
        p + "mlp.gate_proj.weight": [inter, h], p + "mlp.up_proj.weight": [inter, h],
        p + "mlp.down_proj.weight": [h, inter],
        p + "input_layernorm.weight": [h], p + "post_attention_layernorm.weight": [h],
        p + "pre_feedforward_layernorm.weight": [h], p + "post_feedforward_layernorm.weight": [h],
    })

rng = random.Random(20261128)


def bf16(x):
    return struct.unpack("<I", struct.pack("<f", x))[0] >> 16  # exact: multiples of 1/256 fit


header, blobs, offset = {}, [], 0
for name in sorted(shapes):
    shape = shapes[name]
    n = 1
    for d in shape:
        n *= d
    scale = 0.0 if name.endswith("norm.weight") else (0.5 if "embed" in name else 0.15)
    q = 8 if "embed" in name else 256  # coarse embedding steps: it is most of the file
    vals = [round(rng.gauss(0, scale) * q) / q for _ in range(n)]
    blob = struct.pack(f"<{n}H", *[bf16(v) for v in vals])
    header[name] = {"dtype": "BF16", "shape": shape, "data_offsets": [offset, offset + len(blob)]}
    blobs.append(blob)
    offset += len(blob)
header["__metadata__"] = {"format": "pt"}
hj = json.dumps(header, separators=(",", ":")).encode()
hj += b" " * ((8 - len(hj) % 8) % 8)
with open(f"{out}/model.safetensors", "wb") as f:
    f.write(struct.pack("<Q", len(hj)))
    f.write(hj)
    for b in blobs:
        f.write(b)
with open(f"{out}/config.json", "w") as f:
    json.dump(cfg, f, indent=2)
