# GPU machine: `graft verify-reference --device gpu` (the bundled CLI, CPU fallback disabled) on every golden in
# .gpu/shared/fixtures, one JSON line each into $OUT/verify-gpu.jsonl and a summary line last. Sourced by
# final-checks.sh and train-b.sh after .gpu/prelude.sh; VERIFY_UNTIL (seconds since $t) stops early when set.
[ -d .gpu/shared/fixtures ] || tar -xJf .gpu/shared/fixtures.tar.xz -C .gpu/shared   # packed by train-prepare.sh
V=${V:-$OUT/verify-gpu.jsonl}; : > $V; ok=0; n=0
for d in .gpu/shared/fixtures/hf-reference/* .gpu/shared/fixtures/hf-reference-more/* .gpu/shared/fixtures/peft-methods/*; do
  [ -d "$d" ] || continue
  [ -z "${VERIFY_UNTIL:-}" ] || [ $(( $(date +%s) - ${t:-0} )) -lt $VERIFY_UNTIL ] || break
  n=$((n + 1))
  if line=$(timeout 45 node .gpu/cli/graft.mjs verify-reference "$d" --device gpu 2> /tmp/err.txt); then ok=$((ok + 1)); fi
  [ -n "$line" ] || line="{\"error\":$(python3 -c 'import json,sys;print(json.dumps(open(sys.argv[1]).read()[-300:]))' /tmp/err.txt)}"
  echo "{\"fixture\":\"$d\",\"report\":$line}" >> $V
done
echo "{\"ok\":$ok,\"total\":$n,\"device\":\"$(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader)\"}" >> $V
