/**
 * The bundle's train.py, kept as text here so the CLI (run from source), the worker and a packaged app all
 * write the same file without a resources folder. It reads graft-job.json and the pre-rendered token rows,
 * and replays Graft's training step for step: the same rows in the same order per optimizer step, Graft's
 * LoRA initialisation (init/), its learning-rate schedule, AdamW with decoupled weight decay, clipping of the
 * global gradient norm and the loss as a mean over every target token of the step. Hand-written over
 * accelerate rather than transformers' Trainer because Trainer reshuffles rows, shapes its own schedule and
 * rounds the logged loss, and Graft's own loss curve is what a run here is compared with.
 * `python3 train.py --check` verifies the bundle (file hashes, row shapes) without importing torch.
 */
export const TRAIN_PY = String.raw`#!/usr/bin/env python3
"""Trains the LoRA adapter Graft exported in this folder; see README.md. Progress: JSON lines on stdout."""
import argparse
import hashlib
import json
import math
import os
import platform
import socket
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def fail(msg):
    print(json.dumps({"type": "error", "message": msg}), flush=True)
    sys.exit(2)


def load_job():
    path = os.path.join(HERE, "graft-job.json")
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        fail("%s: %s" % (path, e))


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


def check_files(job):
    """Every file the manifest lists must be present with its recorded sha256."""
    for rel, want in sorted(job["files"].items()):
        path = os.path.join(HERE, rel)
        if not os.path.exists(path):
            fail("%s: missing (listed in graft-job.json)" % rel)
        got = sha256_file(path)
        if got != want:
            fail("%s: sha256 %s, graft-job.json says %s (the bundle was changed or damaged)" % (rel, got, want))


def read_rows(rel, seq_len):
    rows = []
    path = os.path.join(HERE, rel)
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            r = json.loads(line)
            ids, labels = r["input_ids"], r["labels"]
            if len(ids) != len(labels) or not 1 <= len(ids) <= seq_len:
                fail("%s line %d: input_ids and labels must have one length between 1 and %d" % (rel, n, seq_len))
            rows.append((ids, labels))
    return rows


def read_order(rel, n_rows):
    with open(os.path.join(HERE, rel), encoding="utf-8") as f:
        order = [int(x) for x in f.read().split()]
    bad = [i for i in order if not 0 <= i < n_rows]
    if bad:
        fail("%s: row index %d out of range (%d rows)" % (rel, bad[0], n_rows))
    return order


def targets(labels):
    """Positions that carry loss after the causal shift (labels are not pre-shifted)."""
    return sum(1 for x in labels[1:] if x != -100)


def learning_rate(step, t):
    """Graft's schedule (engine/train/schedule.ts): step 'warmup' is the first at the peak; decay ends on the last step."""
    lr, warmup, total = t["lr"], max(0, int(t["warmup"])), t["total_steps"]
    if step <= warmup:
        return lr * step / warmup
    if t["schedule"] == "constant":
        return lr
    decay = total - warmup
    if decay <= 1:
        return lr
    progress = min(1.0, (step - warmup - 1) / (decay - 1))
    floor = lr * t.get("min_lr_ratio", 0.0)
    factor = 0.5 * (1 + math.cos(math.pi * progress)) if t["schedule"] == "cosine" else 1 - progress
    return floor + (lr - floor) * factor


def parse_args(job):
    p = argparse.ArgumentParser(description="Graft job bundle: LoRA training under accelerate (FSDP / DeepSpeed ZeRO-3) + PEFT")
    p.add_argument("--check", action="store_true", help="verify the bundle's files and data, print the schedule, and exit (no torch needed)")
    p.add_argument("--model", help="base model folder or hub id (default: graft-job.json's base.load)")
    p.add_argument("--out", default=os.path.join(HERE, "output", "adapter"), help="where the PEFT adapter and graft.json go")
    p.add_argument("--precision", choices=["bf16", "fp32"], default=job["settings"]["precision"], help="bf16 autocast over fp32 weights, or plain fp32")
    p.add_argument("--max-steps", type=int, default=0, help="stop after this many steps (the schedule still spans the whole run)")
    p.add_argument("--peft-init", action="store_true", help="PEFT's own random LoRA init instead of Graft's (init/)")
    return p.parse_args()


def emit(obj, log):
    line = json.dumps(obj)
    print(line, flush=True)
    if log:
        log.write(line + "\n")
        log.flush()


def main():
    job = load_job()
    args = parse_args(job)
    s = job["settings"]
    t = s["train"]
    check_files(job)
    train_rows = read_rows("data/train.jsonl", t["seq_len"])
    val_rows = read_rows("data/val.jsonl", t["seq_len"]) if os.path.exists(os.path.join(HERE, "data/val.jsonl")) else []
    order = read_order("data/train-order.txt", len(train_rows))
    per_step = t["batch"] * t["grad_accum"]
    if len(order) != per_step * t["total_steps"]:
        fail("data/train-order.txt: %d rows, the run needs %d (%d steps x %d rows)" % (len(order), per_step * t["total_steps"], t["total_steps"], per_step))
    if args.check:
        print(json.dumps({"type": "check", "ok": True, "trainRows": len(train_rows), "valRows": len(val_rows),
                          "lr": [learning_rate(k, t) for k in range(1, t["total_steps"] + 1)]}), flush=True)
        return
    run(job, args, train_rows, val_rows, order)


def run(job, args, train_rows, val_rows, order):
    import torch
    import torch.nn.functional as F
    from accelerate import Accelerator
    from accelerate.utils import DistributedType, set_seed
    from peft import LoraConfig, get_peft_model, set_peft_model_state_dict
    from safetensors.torch import load_file
    from transformers import AutoModelForCausalLM

    s, t = job["settings"], job["settings"]["train"]
    # Under DeepSpeed the engine counts micro-batches itself: tell it the per-process share of a step up front.
    ga = t["grad_accum"] // max(1, int(os.environ.get("WORLD_SIZE", "1")))
    acc = Accelerator(mixed_precision="bf16" if args.precision == "bf16" else "no",
                      gradient_accumulation_steps=max(1, ga) if os.environ.get("ACCELERATE_USE_DEEPSPEED") == "true" else 1)
    world, rank = acc.num_processes, acc.process_index
    ds = acc.distributed_type == DistributedType.DEEPSPEED
    B, G = t["batch"], t["grad_accum"]
    if G % world:
        fail("grad_accum %d is not a multiple of the %d processes: each optimizer step must cover the rows it covers in Graft; "
             "export again with --grad-accum a multiple of %d" % (G, world, world))
    set_seed(t["seed"])
    log = None
    if acc.is_main_process:
        os.makedirs(args.out, exist_ok=True)
        log = open(os.path.join(args.out, "progress.jsonl"), "w", encoding="utf-8")

    base = job["base"]
    model_path = args.model or (os.path.join(HERE, base["load"]) if base["inBundle"] else base["load"])
    load_kwargs = {"dtype": torch.float32}
    if s["method"] == "qlora":
        from transformers import BitsAndBytesConfig
        q = s["quantization"]
        load_kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type=q["bnb_4bit_quant_type"], bnb_4bit_use_double_quant=q["bnb_4bit_use_double_quant"],
            bnb_4bit_compute_dtype=torch.bfloat16, bnb_4bit_quant_storage=torch.bfloat16)
        load_kwargs["dtype"] = torch.bfloat16
    model = AutoModelForCausalLM.from_pretrained(model_path, **load_kwargs)
    model.config.use_cache = False
    if s["method"] == "qlora":
        from peft import prepare_model_for_kbit_training
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=False)
    p = s["peft"]
    model = get_peft_model(model, LoraConfig(r=p["r"], lora_alpha=p["lora_alpha"], lora_dropout=p["lora_dropout"], target_modules=p["target_modules"],
                                             use_rslora=p["use_rslora"], bias="none", task_type="CAUSAL_LM"))
    init = os.path.join(HERE, "init", "adapter_model.safetensors")
    if not args.peft_init:
        res = set_peft_model_state_dict(model, load_file(init))
        unexpected = getattr(res, "unexpected_keys", [])
        if unexpected:
            fail("init/adapter_model.safetensors: %d tensors do not fit this model (first: %s)" % (len(unexpected), unexpected[0]))
    trainable = [q for q in model.parameters() if q.requires_grad]
    n_init = len(load_file(init)) if not args.peft_init else len(trainable)
    if n_init != len(trainable):
        fail("init/adapter_model.safetensors holds %d tensors, the model trains %d" % (n_init, len(trainable)))

    def make_opt(params):
        return torch.optim.AdamW(params, lr=t["lr"], betas=(t["beta1"], t["beta2"]), eps=t["eps"], weight_decay=t["weight_decay"])

    max_norm = t["max_grad_norm"] if t["max_grad_norm"] > 0 else float("inf")
    if ds:
        # DeepSpeed steps inside backward at its own accumulation boundary, clipping by its own config.
        cfg = acc.state.deepspeed_plugin.deepspeed_config
        cfg["gradient_accumulation_steps"] = G // world
        cfg["gradient_clipping"] = t["max_grad_norm"] if t["max_grad_norm"] > 0 else 0.0
        cfg["train_micro_batch_size_per_gpu"] = B
        model, opt = acc.prepare(model, make_opt([q for q in model.parameters() if q.requires_grad]))
    else:
        # FSDP: wrap first, then build the optimizer over the wrapped (use_orig_params) parameters.
        model = acc.prepare(model)
        opt = acc.prepare(make_opt([q for q in model.parameters() if q.requires_grad]))
    dev = acc.device
    pad = s["pad_id"]

    def collate(rows, drop_labels=False):
        n = max(len(r[0]) for r in rows)
        ids = torch.full((len(rows), n), pad, dtype=torch.long)
        lab = torch.full((len(rows), n), -100, dtype=torch.long)
        for i, (a, b) in enumerate(rows):
            ids[i, : len(a)] = torch.tensor(a)
            if not drop_labels:
                lab[i, : len(b)] = torch.tensor(b)
        return ids.to(dev), lab.to(dev)

    def loss_sum(ids, lab):
        # Right padding under a causal mask never reaches a real token, so no attention mask is needed (as in Graft).
        logits = model(input_ids=ids).logits
        v = logits.shape[-1]
        return F.cross_entropy(logits[:, :-1].float().reshape(-1, v), lab[:, 1:].reshape(-1), ignore_index=-100, reduction="sum")

    def evaluate():
        cap = t["max_eval_batches"] if t["max_eval_batches"] else None
        batches = [val_rows[i:i + B] for i in range(0, len(val_rows), B)][:cap]
        total_loss = torch.zeros((), device=dev)
        total_tok = torch.zeros((), device=dev)
        model.eval()
        with torch.no_grad():
            # Every process runs the same number of forwards (FSDP gathers inside each); spares carry no targets.
            for r in range(0, len(batches), world):
                k = r + rank
                rows = batches[k] if k < len(batches) else batches[0]
                ids, lab = collate(rows, drop_labels=k >= len(batches))
                total_loss += loss_sum(ids, lab)
                total_tok += (lab[:, 1:] != -100).sum()
        model.train()
        total_loss = acc.reduce(total_loss, "sum")
        total_tok = acc.reduce(total_tok, "sum")
        return total_loss.item() / max(1, total_tok.item()), int(total_tok.item())

    total = t["total_steps"]
    stop = min(total, args.max_steps) if args.max_steps > 0 else total
    started = time.time()
    info = {
        "host": socket.gethostname(), "distributed": str(acc.distributed_type).split(".")[-1], "processes": world,
        "devices": [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())] if torch.cuda.is_available() else ["cpu"],
        "precision": args.precision,
        "software": {"python": platform.python_version(), "torch": torch.__version__, "transformers": __import__("transformers").__version__,
                     "peft": __import__("peft").__version__, "accelerate": __import__("accelerate").__version__},
    }
    if acc.is_main_process:
        emit({"type": "start", "totalSteps": total, "startStep": 0, "trainExamples": len(train_rows), "valExamples": len(val_rows),
              "resumedFrom": None, "remote": info}, log)
    history = []
    tokens_seen = 0
    model.train()
    for step in range(1, stop + 1):
        idx = order[(step - 1) * B * G: step * B * G]
        micro = [idx[j * B:(j + 1) * B] for j in range(G)]
        step_targets = sum(targets(train_rows[i][1]) for i in idx)
        if step_targets == 0:
            fail("step %d: no token carries loss" % step)
        tokens_seen += sum(len(train_rows[i][0]) for i in idx)
        lr = learning_rate(step, t)
        for g in opt.param_groups:
            g["lr"] = lr
        local = torch.zeros((), device=dev)
        for mb in micro[rank::world]:
            ids, lab = collate([train_rows[i] for i in mb])
            ls = loss_sum(ids, lab)
            # Gradients are averaged over processes; scaling by world / targets makes them the step's token mean.
            acc.backward(ls * (world / step_targets))
            local += ls.detach()
        if ds:
            engine = acc.deepspeed_engine_wrapped.engine
            gn = engine.get_global_grad_norm()
            grad_norm = float(gn) if gn is not None else float("nan")
        else:
            grad_norm = float(acc.clip_grad_norm_(model.parameters(), max_norm))
            opt.step()
            opt.zero_grad(set_to_none=True)
        loss = acc.reduce(local, "sum").item() / step_targets
        rec = {"step": step, "loss": loss, "lr": lr, "gradNorm": grad_norm, "tokens": step_targets}
        history.append(rec)
        if not math.isfinite(loss):
            fail("training diverged at step %d (loss %s)" % (step, loss))
        elapsed = time.time() - started
        if acc.is_main_process:
            emit({"type": "step", "step": step, "totalSteps": total, "epoch": step * B * G / len(train_rows), "loss": loss, "lr": lr,
                  "gradNorm": grad_norm, "tokensPerSec": tokens_seen / elapsed if elapsed > 0 else 0, "tokensSeen": tokens_seen,
                  "elapsedMs": elapsed * 1000, "etaMs": elapsed * 1000 / step * (stop - step)}, log)
        every = t["eval_every"]
        if val_rows and (step == stop or (every > 0 and step % every == 0)):
            ev, ev_tok = evaluate()
            rec["evalLoss"] = ev
            if acc.is_main_process:
                emit({"type": "eval", "step": step, "evalLoss": ev, "tokens": ev_tok}, log)

    acc.wait_for_everyone()
    save_adapter(acc, model, args.out, fsdp=acc.distributed_type == DistributedType.FSDP)
    if acc.is_main_process:
        elapsed = time.time() - started
        last_eval = next((h["evalLoss"] for h in reversed(history) if "evalLoss" in h), None)
        write_graft_json(job, args, history, tokens_seen, elapsed, info, last_eval, stop)
        emit({"type": "done", "step": stop, "loss": history[-1]["loss"] if history else None, "evalLoss": last_eval,
              "tokensSeen": tokens_seen, "elapsedMs": elapsed * 1000, "out": os.path.abspath(args.out)}, log)
        log.close()
    acc.wait_for_everyone()
    acc.end_training()


def save_adapter(acc, model, out, fsdp):
    """Writes the PEFT adapter from the main process with every trainable tensor whole.

    Under FSDP the model's state_dict() goes through FSDP's hooks, which gather the frozen base too (and, in
    fp32 with use_orig_params, fail on the tied embeddings); what PEFT keeps of it came out empty. The
    adapter is only the trainable parameters: summon them whole on rank 0, read them by name, save those.
    """
    if fsdp:
        from torch.distributed.fsdp import FullyShardedDataParallel as FSDP
        # One process is NO_SHARD, where FSDP refuses offload_to_cpu (and the model is whole on the GPU already).
        with FSDP.summon_full_params(model, writeback=False, rank0_only=True, offload_to_cpu=acc.num_processes > 1):
            if acc.is_main_process:
                state = {}
                for name, p in model.named_parameters():
                    if p.requires_grad:
                        clean = name.replace("_fsdp_wrapped_module.", "").replace("_checkpoint_wrapped_module.", "")
                        state[clean[len("module."):] if clean.startswith("module.") else clean] = p.detach().to("cpu", copy=True)
                if not state:
                    fail("no trainable tensors to save under FSDP")
                from peft import get_peft_model_state_dict
                unwrapped = acc.unwrap_model(model)
                kept = get_peft_model_state_dict(unwrapped, state_dict=state)
                print("save_adapter: %d trainable tensors (e.g. %s), PEFT keeps %d" % (len(state), sorted(state)[:2], len(kept)), file=sys.stderr, flush=True)
                if kept:
                    unwrapped.save_pretrained(out, state_dict=state, safe_serialization=True)
                else:
                    # Seen with PEFT 0.21 under FSDP (world size 1, use_orig_params): its filter returned nothing for
                    # keys of the right form. The trainable tensors are the adapter, so write PEFT's layout directly.
                    write_peft_folder(unwrapped, state, out)
        return
    # DeepSpeed ZeRO-3 partitions parameters: accelerate gathers the full state dict to the main process.
    state = acc.get_state_dict(model)
    if acc.is_main_process:
        acc.unwrap_model(model).save_pretrained(out, state_dict=state, safe_serialization=True)


def write_peft_folder(peft_model, state, out, adapter="default"):
    """adapter_model.safetensors + adapter_config.json as PeftModel.save_pretrained writes them: the adapter's name
    leaves each key (q_proj.lora_A.default.weight -> q_proj.lora_A.weight; a DoRA magnitude's
    lora_magnitude_vector.default.weight -> lora_magnitude_vector)."""
    from safetensors.torch import save_file
    cfg = peft_model.peft_config[adapter]
    if cfg.is_prompt_learning:
        fail("prefix tuning under FSDP: PEFT saved no tensors; run this bundle with python3 train.py (no FSDP)")
    tensors = {}
    for k, v in state.items():
        if k.endswith(".lora_magnitude_vector.%s.weight" % adapter):
            k = k[: -len(".%s.weight" % adapter)]
        elif k.endswith("." + adapter):
            k = k[: -len(adapter) - 1]
        else:
            head, _, suffix = k.rpartition(".")
            if head.endswith("." + adapter):
                k = head[: -len(adapter) - 1] + "." + suffix
        tensors[k] = v.contiguous()
    os.makedirs(out, exist_ok=True)
    save_file(tensors, os.path.join(out, "adapter_model.safetensors"), metadata={"format": "pt"})
    inference_mode = cfg.inference_mode
    cfg.inference_mode = True
    cfg.save_pretrained(out)
    cfg.inference_mode = inference_mode
    print("save_adapter: wrote %d tensors in PEFT's layout" % len(tensors), file=sys.stderr, flush=True)


def write_graft_json(job, args, history, tokens_seen, elapsed, info, last_eval, steps):
    """graft.json in the library's format: Graft's import keeps it, and 'remote' says where and on what this ran."""
    s = job["settings"]
    metrics = {"tokensSeen": tokens_seen, "steps": steps, "durationSec": elapsed}
    if history:
        metrics["finalTrainLoss"] = history[-1]["loss"]
    if last_eval is not None:
        metrics["finalEvalLoss"] = last_eval
    meta = {
        "format": 1,
        "id": job["name_slug"] + "-" + os.urandom(4).hex(),
        "name": job["name"],
        "tags": ["remote"],
        "notes": "",
        "base": {"id": job["base"]["id"], "arch": job["base"]["arch"], "hash": job["base"]["hash"]},
        "method": s["method"],
        "r": s["peft"]["r"],
        "alpha": s["peft"]["lora_alpha"],
        "targets": job["graftTargets"],
        "rslora": s["peft"]["use_rslora"],
        "dataset": {"name": job["dataset"]["name"], "hash": job["dataset"]["hash"]},
        "hyperparameters": dict(job["hyperparameters"], steps=steps),
        "metrics": metrics,
        "lossCurve": [dict({"step": h["step"], "loss": h["loss"]}, **({"evalLoss": h["evalLoss"]} if "evalLoss" in h else {})) for h in history],
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "source": "remote-training",
        "remote": dict(info, job=job["id"], launcher=os.environ.get("GRAFT_LAUNCHER", "accelerate" if "ACCELERATE_MIXED_PRECISION" in os.environ else "python"),
                       durationSec=elapsed),
    }
    with open(os.path.join(args.out, "graft.json"), "w", encoding="utf-8") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
`;
