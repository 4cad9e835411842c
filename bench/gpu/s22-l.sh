# GPU machine, fresh (carry [".gpu"] from decode-train-prepare.sh), ~4 min, nothing in the background: ran as session 22's call L
# at ae09bdd (written in session 21); its third arm's switch and --lora-f32 were removed after it (slower than fp16). Whether the adapter rows' low-rank products in fp32 inside
# the fp16 graph (GRAFT_LORA_F32=1) take back what fp16 adapter rows lost in captured replays (session 21's call R:
# one adapter row 148 -> 136 tok/s, 4 adapter rows 149 -> 127 a row at 0.5B): three arms, 0.5B then 1.5B.
source bench/gpu/device-env.sh
L=$OUT/l.log; t=$(date +%s)
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $L
echo "bundle $(cat .gpu/commit)" >> $L
timeout 100 node $E models qwen2.5-0.5b qwen2.5-1.5b > /dev/null 2>&1; echo "models at $(( $(date +%s) - t ))" >> $L
for m in qwen2.5-0.5b qwen2.5-1.5b; do
  left 200 || break
  echo "== f16-rows --lora-f32 $m at $(( $(date +%s) - t ))" >> $L
  timeout 150 node $E f16-rows $m --lora-f32 2>&1 | grep -v Warning | grep -E 'rows|graft|rror' >> $L
done
echo "total $(( $(date +%s) - t )) s" >> $L
cat $L | cut -c1-300
