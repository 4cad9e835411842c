#!/usr/bin/env bash
# Issue 16 composition/formats against PyTorch + PEFT 0.21, on the GPU machine (Python with torch 2.11,
# transformers 5.17, PEFT 0.21; Node from .gpu/prelude.sh). CPU is enough; nothing here needs the GPU.
#   bash bench/gpu-checks/methods-composition-peft.sh
# Base: stories260K (../shared), exported as a Hugging Face folder by Graft itself. Checks, writing $OUT/composition-peft.json (exit 1 when a check fails):
#   1. a DoRA and an IA³ adapter trained by `graft train --adapter-drop 1` (their adapter_config.json carries
#      Graft's extra key graft_adapter_drop) load with PeftModel.from_pretrained, and PEFT's logits equal those of
#      `graft export-method --format merged` loaded by transformers (max abs ≤ 1e-3): PEFT accepts the key and the
#      dropped layer is at the identity;
#   2. `graft export-method --format lora --lora-rank r` of the DoRA adapter at full rank loads as a PEFT LoRA
#      whose logits equal the DoRA's (≤ 1e-3).
set -uo pipefail
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
cd "$(dirname "$0")/../.."
if [ -f .gpu/prelude.sh ]; then source .gpu/prelude.sh; fi
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT"
STORIES=../shared/models/stories260K/stories260K.gguf
[ -f "$STORIES" ] || STORIES=.gpu/shared/models/stories260K/stories260K.gguf
# The bundled CLI (bench/gpu-checks/merged-export-prepare.sh) where there is no node_modules, as on the GPU machine.
if [ -f .gpu/cli/graft.mjs ]; then [ -e node_modules ] || ln -sfn /tmp/gpu/node_modules node_modules; GRAFT="node .gpu/cli/graft.mjs"; else GRAFT="node bin/graft.mjs"; fi
W=$(mktemp -d)
FX="$W/base-hf"
python3 - "$W/data.txt" <<'PY'
import sys
open(sys.argv[1], "w").write("\n\n".join(f"the quick brown fox {i} jumps over the lazy dog {i % 7}" for i in range(32)) + "\n")
PY
status=0
# The base as a Hugging Face folder with its tokenizer (PEFT cannot load a GGUF): an IA3 adapter trained at
# learning rate 0 keeps its ones, so its exact merge is stories260K itself.
$GRAFT train --model "$STORIES" --data "$W/data.txt" --out "$W/identity" --device cpu --steps 1 --batch 2 --seq-len 32 --lr 0 --weight-decay 0 --method ia3 > "$W/identity.log" 2>&1 || status=1
$GRAFT export-method --model "$STORIES" --adapter "$W/identity" --format merged --out "$FX" >> "$W/identity.log" 2>&1 || status=1
for m in dora ia3; do
  $GRAFT train --model "$FX" --data "$W/data.txt" --out "$W/$m" --device cpu --steps 8 --batch 2 --seq-len 32 --lr 5e-2 --method "$m" --adapter-drop 1 > "$W/$m.log" 2>&1 || { tail -3 "$W/$m.log"; status=1; }
  $GRAFT export-method --model "$FX" --adapter "$W/$m" --format merged --out "$W/$m-merged" >> "$W/$m.log" 2>&1 || status=1
done
HIDDEN=$(python3 -c "import json;print(json.load(open('$FX/config.json'))['hidden_size'])")
$GRAFT export-method --model "$FX" --adapter "$W/dora" --format lora --lora-rank "$HIDDEN" --out "$W/dora-lora" >> "$W/dora.log" 2>&1 || status=1
python3 - "$FX" "$W" "$OUT/composition-peft.json" <<'PY' || status=1
import json, sys, torch
from transformers import AutoModelForCausalLM
from peft import PeftModel
fx, w, out = sys.argv[1:]
ids = torch.tensor([[1, 5, 9, 13, 17, 21, 25, 29]])
def logits(model):
    with torch.no_grad():
        return model(ids).logits.float()
def base():
    return AutoModelForCausalLM.from_pretrained(fx, torch_dtype=torch.float32).eval()
res, ok = {}, True
for m in ("dora", "ia3"):
    cfg = json.load(open(f"{w}/{m}/adapter_config.json"))
    peft = logits(PeftModel.from_pretrained(base(), f"{w}/{m}").eval())
    merged = logits(AutoModelForCausalLM.from_pretrained(f"{w}/{m}-merged", torch_dtype=torch.float32).eval())
    d = (peft - merged).abs().max().item()
    moved = (peft - logits(base())).abs().max().item()
    res[m] = {"graft_adapter_drop": cfg.get("graft_adapter_drop"), "peft_vs_graft_merged_max_abs": d, "adapter_vs_base_max_abs": moved, "ok": d <= 1e-3 and moved > 1e-4}
    ok &= res[m]["ok"]
lora = logits(PeftModel.from_pretrained(base(), f"{w}/dora-lora").eval())
dora = logits(PeftModel.from_pretrained(base(), f"{w}/dora").eval())
res["dora_as_full_rank_lora_max_abs"] = (lora - dora).abs().max().item()
ok &= res["dora_as_full_rank_lora_max_abs"] <= 1e-3
res["ok"] = bool(ok)
json.dump(res, open(out, "w"), indent=1)
print(json.dumps(res))
sys.exit(0 if ok else 1)
PY
exit $status
