#!/usr/bin/env python3
"""Issue 19: compare the loss curves of job-bundle runs with Graft's own local run, and check the accelerate configs.

  python3 job_compare.py configs BUNDLE_DIR            accelerate's own loader on both configs (DeepSpeed is not run)
  python3 job_compare.py compare LOCAL.jsonl STEPS RUN_DIR...   prints JSON; exit 1 when a run is out of tolerance

Tolerances (relative difference of the per-step training loss, steps 1..STEPS):
  fp32 runs: 1e-3. Both sides compute the same fp32 maths from the same rows, init, schedule and AdamW; what
      differs is summation order (GEMM blocking, log-sum-exp), ~1e-6 relative per op, which 20 AdamW steps at
      lr 5e-3 grow to ~1e-4 at most in practice.
  bf16 runs: 3e-2. bf16 autocast rounds every matmul input to an 8-bit mantissa (2^-9 ~ 0.2% per element,
      fp32 accumulation), so logits move by ~0.1-0.5% and the loss by about as much; AdamW's normalised update
      then lets the trajectories drift apart slowly. The measured bf16-vs-fp32 gap of the bundle itself is
      printed beside it, so the bound can be judged against what bf16 actually costs on that machine.
"""
import json
import os
import sys

TOL = {"fp32": 1e-3, "bf16": 3e-2}


def steps_of(path):
    out = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line.startswith("{"):
                continue
            e = json.loads(line)
            if e.get("type") == "step":
                out[e["step"]] = e["loss"]
    return out


def precision_of(run_dir):
    try:
        with open(os.path.join(run_dir, "graft.json"), encoding="utf-8") as f:
            return json.load(f)["remote"]["precision"]
    except (OSError, KeyError, ValueError):
        return "bf16" if "bf16" in os.path.basename(run_dir.rstrip("/")) else "fp32"


def compare(local_path, n, runs):
    local = steps_of(local_path)
    report = {"steps": n, "tolerance": TOL, "runs": {}}
    ok = True
    curves = {}
    for run in runs:
        got = steps_of(os.path.join(run, "progress.jsonl"))
        curves[run] = got
        prec = precision_of(run)
        rows = []
        for k in range(1, n + 1):
            if k not in got or k not in local:
                rows.append({"step": k, "missing": True})
                continue
            rows.append({"step": k, "graft": local[k], "bundle": got[k], "rel": abs(got[k] - local[k]) / abs(local[k])})
        rel = [r["rel"] for r in rows if "rel" in r]
        passed = len(rel) == n and max(rel) <= TOL[prec]
        ok = ok and passed
        report["runs"][os.path.basename(run.rstrip("/"))] = {"precision": prec, "maxRel": max(rel) if rel else None, "pass": passed, "curve": rows}
    fp32 = [r for r in runs if precision_of(r) == "fp32"]
    bf16 = [r for r in runs if precision_of(r) == "bf16"]
    if fp32 and bf16:
        a, b = curves[fp32[0]], curves[bf16[0]]
        gap = [abs(b[k] - a[k]) / abs(a[k]) for k in range(1, n + 1) if k in a and k in b]
        report["bundleBf16VsFp32MaxRel"] = max(gap) if gap else None
    report["pass"] = ok
    print(json.dumps(report, indent=1))
    return ok


def configs(bundle):
    from accelerate.commands.config.config_args import load_config_from_file
    out = {}
    for name in ("fsdp.yaml", "deepspeed-zero3.yaml"):
        path = os.path.join(bundle, "accelerate", name)
        try:
            cfg = load_config_from_file(path)
            out[name] = {"ok": True, "distributed_type": str(cfg.distributed_type), "mixed_precision": str(cfg.mixed_precision),
                         "fsdp_config": getattr(cfg, "fsdp_config", None), "deepspeed_config": getattr(cfg, "deepspeed_config", None)}
        except Exception as e:  # noqa: BLE001 - the point is to report whatever accelerate rejects
            out[name] = {"ok": False, "error": "%s: %s" % (type(e).__name__, e)}
    print(json.dumps(out, indent=1, default=str))
    return all(v["ok"] for v in out.values())


if __name__ == "__main__":
    if sys.argv[1] == "configs":
        sys.exit(0 if configs(sys.argv[2]) else 1)
    sys.exit(0 if compare(sys.argv[2], int(sys.argv[3]), sys.argv[4:]) else 1)
