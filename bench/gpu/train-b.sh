# GPU machine, second of the two calls for issue 13 (on the machine train-a.sh left warm): PyTorch + PEFT on the
# same shapes and at Llama-3.1-8B's, Graft's 8B QLoRA row with its GPU memory, then the CPU checks that
# train-a.sh started (issue 16's PEFT composition, issue 18's merged exports in transformers and llama.cpp).
source .gpu/prelude.sh
ln -sfn /tmp/gpu/node_modules node_modules
export GRAFT_ROOT=$PWD GRAFT_SHARED=$PWD/.gpu/shared GRAFT_BENCH_CACHE=/tmp/bm GRAFT_GRAPH_CACHE=/tmp/graft-graphs
P=$OUT/peers.log; t=$(date +%s)
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader > $P
echo "== Graft QLoRA at Llama-3.1-8B shapes" > $OUT/graft-8b.log
timeout ${GRAFT_8B_TIMEOUT:-240} bash bench/gpu/qlora-8b.sh >> $OUT/graft-8b.log 2>&1; echo "graft 8b rc $? after $(( $(date +%s) - t )) s" >> $OUT/graft-8b.log
(cd /tmp && OUT=/tmp timeout 200 python3 $OLDPWD/.gpu/anchor_train.py > /tmp/anchor.log 2>&1); cat /tmp/anchors-pytorch-peft.json >> $P
echo "anchor done after $(( $(date +%s) - t )) s" >> $P
timeout 150 python3 bench/gpu/peer-8b-lora.py >> $P 2> $OUT/peer-8b.err; echo "peer 8b rc $? after $(( $(date +%s) - t )) s" >> $P
for d in merged peft; do
  while [ $(( $(date +%s) - t )) -lt ${CHECKS_WAIT:-560} ] && ! grep -q '^rc' /tmp/$d/run.log 2> /dev/null; do sleep 3; done
done
tar czf $OUT/checks.tgz -C /tmp merged peft 2> /dev/null
tail -3 $OUT/graft-8b.log; tail -c 3000 $P; tail -2 /tmp/merged/run.log /tmp/peft/run.log; cat /tmp/merged/checks.txt 2> /dev/null | tail -30
