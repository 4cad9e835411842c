#!/usr/bin/env bash
# Issue 17, acceptance 2, on the GPU machine (its Python has torch + transformers; Node is not needed):
# llama.cpp's own converter (convert_hf_to_gguf.py from shared/anchors/llamacpp/llamacpp-src.tar.xz) turns
# each fixture model of shared/fixtures/hf-reference-more into an F32 GGUF.
#
# The fixtures ship no tokenizer, so the one step that needs it is switched to the converter's own
# "no vocabulary" writer (each model class's set_vocab → _set_vocab_none), and Gemma 3's embedding trim
# reads a stub tokenizer.json holding the fixture's 512 ids. Tensor names, permutations, the norm shift
# and every metadata key are the converter's.
# gemma3-pattern.gguf is gemma3.gguf plus `gemma3.attention.sliding_window_pattern` (one bool per layer):
# the converter leaves that key out, and llama.cpp then assumes every 6th layer is full (all real Gemma 3
# checkpoints); the fixture alternates sliding and full layers, so only the file with the key can match it.
#
# Carry: .gpu/shared/anchors/llamacpp/llamacpp-src.tar.xz and .gpu/shared/fixtures/hf-reference-more/
# (cp -r ../shared/... .gpu/shared/...), then: SHARED=.gpu/shared bash bench/gpu-checks/more-families-gguf.sh
# Back here: cp $OUT/*.gguf test/engine/families/llamacpp-gguf/ && npx vitest run test/engine/families/llamacpp-gguf.test.ts
set -euo pipefail
SHARED=${SHARED:-shared}
OUT=${OUT:-/tmp/more-gguf-out}
W=$(mktemp -d)
mkdir -p "$OUT" "$W/src"
tar -xJf "$SHARED/anchors/llamacpp/llamacpp-src.tar.xz" -C "$W/src"
cat > "$W/convert.py" <<'PY'
import json, runpy, sys
src, model_dir, out = sys.argv[1:4]
sys.path[:0] = [src, src + "/gguf-py"]
import conversion
original = conversion.get_model_class
def without_vocab(name, mmproj=False):
    cls = original(name, mmproj)
    cls.set_vocab = lambda self: self._set_vocab_none()
    return cls
conversion.get_model_class = without_vocab
vocab = json.load(open(model_dir + "/config.json"))["vocab_size"]
json.dump({"model": {"vocab": {f"t{i}": i for i in range(vocab)}}, "added_tokens": []}, open(model_dir + "/tokenizer.json", "w"))
sys.argv = ["convert_hf_to_gguf.py", model_dir, "--outfile", out, "--outtype", "f32"]
runpy.run_path(src + "/convert_hf_to_gguf.py", run_name="__main__")
PY
cat > "$W/pattern.py" <<'PY'
import json, sys
src, config, inp, out = sys.argv[1:5]
sys.path[:0] = [src + "/gguf-py"]
import gguf
r = gguf.GGUFReader(inp)
arch = r.fields["general.architecture"].contents()
w = gguf.GGUFWriter(out, arch)
for f in r.fields.values():
    if f.name.startswith("GGUF.") or f.name == "general.architecture":
        continue
    w.add_key_value(f.name, f.contents(), f.types[0], f.types[-1] if f.types[0] == gguf.GGUFValueType.ARRAY else None)
types = json.load(open(config))["layer_types"]
w.add_sliding_window_pattern([t == "sliding_attention" for t in types])
for t in r.tensors:
    w.add_tensor(t.name, t.data, raw_dtype=t.tensor_type)
w.write_header_to_file(); w.write_kv_data_to_file(); w.write_tensors_to_file(); w.close()
PY
for arch in smollm3 phi3 gemma3; do
  cp -r "$SHARED/fixtures/hf-reference-more/$arch/model" "$W/$arch"
  python3 "$W/convert.py" "$W/src" "$W/$arch" "$OUT/$arch.gguf" > "$OUT/convert-$arch.log" 2>&1 || { echo "$arch: converter failed"; tail -20 "$OUT/convert-$arch.log"; exit 1; }
  echo "$arch: $(stat -c %s "$OUT/$arch.gguf") bytes"
done
python3 "$W/pattern.py" "$W/src" "$W/gemma3/config.json" "$OUT/gemma3.gguf" "$OUT/gemma3-pattern.gguf"
echo "gemma3-pattern: $(stat -c %s "$OUT/gemma3-pattern.gguf") bytes"
rm -rf "$W"
