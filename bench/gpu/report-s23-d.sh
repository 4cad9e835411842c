# Rebuilds bench/results/gpu-vs-peers-2026-12-04-s23-d.json (session 23's call D) from its raw logs, with call B's
# verify-reference (onnxruntime-node 1.31.1), the dispatch counts (bench/decode-dispatches.ts) and the latest 0.5B
# op-by-op profile (session 21's).
REPORT_SUFFIX=-s23-d REPORT_CALLS=D,D REPORT_PRECISION=fp16 REPORT_VERIFY_DIR=bench/results/raw/s23-call-b \
REPORT_DISPATCHES=bench/results/decode-dispatches-2026-12-04.json \
REPORT_PROFILE='bench/results/decode-fp16-h200-2026-12-04.json#profile_G' \
REPORT_WHAT="Session 23's call D (AB='chain-ab qwen2.5-0.5b' bash bench/gpu/decode-all-one-call.sh, bundle 76c7c77, fresh machine): onnxruntime-node 1.31.1 from this session (1.30.0 before: call A measured no difference), chains of 8 steps between reads (the growing chains came after this call, from its A/B). Graft's rows ran beside llama.cpp's CUDA build (pinned to other cores), llama.cpp's after it with nothing beside." \
REPORT_NOTE="verify_reference_gpu: call B (bench/gpu/s23-b.sh, bundle 8d00505, ORT 1.31.1), 12/12. The A/B slot: greedy chains of 16 and 32 steps against 8, under the build's load (the growing chains of generate.ts chainLength follow from it). dispatches: counted from the graphs of this code (bench/decode-dispatches.ts; the graphs did not change this session). profile: session 21's call G (fp16, 0.5B, 4 rows with adapters). Where a step's time goes (depth and vocabulary cuts, two processes at once): calls A-C and E, decode-floor-h200-2026-12-04-s23.json and docs/gpu-speed.md, twenty-first pass." \
npx tsx bench/gpu/report-decode.ts bench/results/raw/s23-call-d bench/results/raw/s23-call-d 76c7c77
