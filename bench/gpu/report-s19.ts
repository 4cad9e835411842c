/**
 * bench/results/webgpu-submit-window-h200-2026-12-04.json from session 19's calls A (s19-a.sh: the submit window
 * 16 / 256 / 4,096, one process each, alternating, llama.cpp's build beside on other cores, llama-bench after) and
 * H (s19-h.sh: nothing beside; the host's ms inside the replays beside the wall ms a step, windows 256 and 16) and
 * L (s19-l.sh: the adapter rows' x·Aᵀ read in place against x transposed for them, a form tried and reverted).
 *   npx tsx bench/gpu/report-s19.ts DIR_A DIR_H DIR_L COMMIT
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { writeResult } from '../common.js';

const [dirA, dirH, dirL, commit] = process.argv.slice(2);
type Row = Record<string, unknown>;
/** The JSON lines of a log, each with the section (`== ...`) it ran under. */
function rows(file: string): (Row & { section: string })[] {
  let section = '';
  const out: (Row & { section: string })[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line.startsWith('== ')) section = line.slice(3);
    else if (line.startsWith('{')) {
      const r = JSON.parse(line) as Row;
      delete r.sessions;
      delete r.sessions_created;
      out.push({ section, ...r });
    }
  }
  return out;
}
const a = rows(path.join(dirA, 'a.log'));
const h = rows(path.join(dirH, 'h.log'));
const l = rows(path.join(dirL, 'l.log'));
const llama = (JSON.parse(readFileSync(path.join(dirA, 'llama-bench.json'), 'utf8')) as Row[])
  .filter((r) => r.n_gen === 128)
  .map((r) => ({ model: path.basename(String(r.model_filename)), tg128_tok_s: +Number(r.avg_ts).toFixed(1) }));
const ratio4 = (r: Row) => (typeof r.greedy_4rows_tok_s_per_row === 'number' ? +((4 * r.greedy_4rows_tok_s_per_row) / (r.greedy_tok_s as number)).toFixed(2) : null);
const file = writeResult('webgpu-submit-window-h200-2026-12-04', {
  what: "The WebGPU EP's submit window (maxNumPendingDispatches: dispatches encoded before each queue submit; ORT's default 16) set for the process's context through ORT's C API (src-main/engine/runtime/webgpu-context.ts), and where a captured step's time goes.",
  device: 'NVIDIA H200, driver 580.159.04 (WebGPU EP, Vulkan)',
  date: '2026-12-04',
  commit,
  calls: {
    A: 'bench/gpu/s19-a.sh, fresh, bundle 49e2334: one process per row, windows alternating 16, 4096, 256, 16, 4096; llama.cpp building on cores 4-15 while Graft ran on 0-3; llama-bench tg128 after, with nothing beside',
    H: 'bench/gpu/s19-h.sh, fresh, bundle 65bff21: nothing beside; windows 256 (the new default) and 16; host_ms = time inside RunWithBinding of the captured runs, averaged over 4 generations of 64 steps',
    L: 'bench/gpu/s19-l.sh, fresh, bundle 7466dc6: nothing beside, window 256; in-place 1: gate/up\'s rows read x in place (Aᵀ broadcast over the tokens, one ReduceSum), 0: x transposed for them (the form kept); one process each, alternating',
  },
  peer_same_call_A: llama,
  window_sweep_A: a.map((r) => ({ ...r, four_rows_over_one: ratio4(r) })),
  host_vs_wall_H: h.map((r) => ({ ...r, four_rows_over_one: ratio4(r) })),
  lora_in_place_ab_L: l.map((r) => ({ ...r, four_rows_over_one: ratio4(r) })),
  notes: [
    'Greedy decode, one row: 0.5B 172.9/173.6 (16) against 183.3 (256) and 189.1/181.5 (4096) tok/s; 135M 201.7/200.4 against 215.1 and 215.7/218.1; 1.5B 131.0 (16) against 142.7 (4096).',
    '4 rows, a row: 0.5B 129.7/131.0 (16), 145.2 (256), 137.1/133.5 (4096). The 1.5B step: 202.1/202.3 ms (16), 198.4 (256), 207.3/214.4 (4096); its memory peak 18.2 GB at every window.',
    'Call H: the host spends 2.0-2.9 ms of a 4.6-7.5 ms decode step inside the replay, and 27.8 ms (256) or 63.4 ms (16) of a 196-202 ms training step: the GPU, not the host, bounds a chain of replays.',
    'Call L: reading x in place for gate/up\'s rows was slower (135M 4 rows 158.5/158.6/159.6 against 162.3/159.3/164.5 tok/s a row; 0.5B 151.7 against 154.2), so the transposed form stays.',
  ],
});
console.log('wrote', file);
