#!/usr/bin/env bash
# Makes .gpu/ (git-ignored) for the two GPU-machine calls of docs/gpu-speed.md: node, Vulkan loaders and
# onnxruntime-node (../shared/gpu/prepare.sh), the benchmark bundle, stories260K, and the peers' material
# (llama.cpp's source with a 1.5B-shaped model added to its model list, PyTorch + PEFT's anchor script).
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
bash ../shared/gpu/prepare.sh > /dev/null
mkdir -p .gpu/shared/models .gpu/llamacpp
cp -r ../shared/models/stories260K .gpu/shared/models/
cp ../shared/anchors/llamacpp/* .gpu/llamacpp/
rm -rf .gpu/llamacpp/tokenizer && cp -r ../shared/models/smollm2-135m-instruct-tokenizer .gpu/llamacpp/tokenizer
cp ../shared/anchors/anchor_train.py .gpu/
# The peer's model list gains Qwen2.5-1.5B's shapes, and F16 is all the decode rows need.
python3 - <<'PY'
p = '.gpu/llamacpp/make_models.py'
s = open(p).read()
if 'qwen15b' not in s:
    s = s.replace('bos_token_id=1, eos_token_id=2)),\n}', 'bos_token_id=1, eos_token_id=2)),\n    "qwen15b": (LlamaForCausalLM, LlamaConfig(vocab_size=151936, hidden_size=1536, intermediate_size=8960,\n        num_hidden_layers=28, num_attention_heads=12, num_key_value_heads=2, max_position_embeddings=32768,\n        rope_theta=1e6, rms_norm_eps=1e-6, tie_word_embeddings=True, bos_token_id=1, eos_token_id=2)),\n}')
    s = s.replace('for ot in ("f16", "q8_0"):\n        r =', 'for ot in ("f16",):\n        r =')
    s = s.replace('all(os.path.exists(f"{out}/{name}-{ot}.gguf") for ot in ("f16", "q8_0"))', 'os.path.exists(f"{out}/{name}-f16.gguf")')
    open(p, 'w').write(s)
PY
# koffi (the GPU memory probe's FFI, native) stays external: its linux-x64 build travels as .gpu/koffi.tar.xz
# (under 1 MB), unpacked beside onnxruntime-node in /tmp/gpu/node_modules by the script that needs it.
npx esbuild bench/gpu-explore.ts --bundle --platform=node --format=cjs --target=node20 --external:onnxruntime-node --external:koffi --outfile=.gpu/gpu-explore.cjs --log-level=error
npx esbuild bench/matvec-profile.ts --bundle --platform=node --format=cjs --target=node20 --external:onnxruntime-node --outfile=.gpu/matvec-profile.cjs --log-level=error
tar -C node_modules -cJf .gpu/koffi.tar.xz --exclude=koffi/vendor --exclude=koffi/doc --exclude='koffi/src/koffi/src/*.cc' --exclude='koffi/src/koffi/src/*.hh' --exclude=koffi-linux-x64/musl_x64 koffi @koromix/koffi-linux-x64
du -sh .gpu
