#!/usr/bin/env bash
# Checks `graft verify-reference` on freshly made PEFT-method goldens, including the HIDDEN variant (other shapes,
# seed 56789, Qwen2 and Qwen3 with q/k norms) that is not in ../shared: DoRA, IA³ and prefix tuning, each on the
# CPU EP and on the WebGPU EP. Needs Python with torch 2.11, transformers 5.17, PEFT 0.21, and Node with this
# repository's node_modules (.gpu/prelude.sh). Writes under $OUT: methods-{visible,hidden}.tar.gz (the goldens),
# make.log, and verify-methods.jsonl, one line per (fixture, device) with the report; the last line says how many
# of them were ok. Expected: every report "ok": true (logits ≤ 1e-3, loss ≤ 1e-4, gradients ≤ 1e-3 relative,
# greedy ids identical).
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ -f .gpu/prelude.sh ]; then source .gpu/prelude.sh; fi
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT"
MAKE=../shared/fixtures/peft-methods/make_method_fixtures.py
[ -f "$MAKE" ] || MAKE=.gpu/shared/fixtures/peft-methods/make_method_fixtures.py
OUT="$OUT" python3 "$MAKE" > "$OUT/make.log" 2>&1   # writes /tmp/fxm/{visible,hidden}/<method>-<arch>/
: > "$OUT/verify-methods.jsonl"
ok=0
total=0
for dir in /tmp/fxm/visible/*/ /tmp/fxm/hidden/*/; do
  for dev in cpu gpu; do
    total=$((total + 1))
    if line=$(node bin/graft.mjs verify-reference "$dir" --device "$dev" 2>"$OUT/err.txt"); then ok=$((ok + 1)); fi
    [ -n "${line:-}" ] || line="{\"error\":$(python3 -c 'import json,sys;print(json.dumps(open(sys.argv[1]).read()[-400:]))' "$OUT/err.txt")}"
    echo "{\"fixture\":\"${dir%/}\",\"device\":\"$dev\",\"report\":$line}" >> "$OUT/verify-methods.jsonl"
  done
done
echo "{\"ok\":$ok,\"total\":$total}" >> "$OUT/verify-methods.jsonl"
tail -n 1 "$OUT/verify-methods.jsonl"
