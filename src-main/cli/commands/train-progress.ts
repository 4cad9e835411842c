import type { TrainEvent } from '../../engine/train/events';
import { formatBytes, type MemoryEstimate } from '../../engine/train/memory-estimate';

export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return '?';
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return h ? `${h}h${String(m).padStart(2, '0')}m` : m ? `${m}m${String(sec).padStart(2, '0')}s` : `${sec}s`;
}

/** An answer on one line: its line breaks shown as ⏎. */
const oneLine = (text: string) => text.trim().replace(/\s*\n\s*/g, ' ⏎ ');

/**
 * Human progress for `graft train`: on a terminal one bar redrawn in place, otherwise (a log file) one line
 * per eval/checkpoint and every tenth of the run, so logs stay readable.
 */
export class ProgressPrinter {
  private lastEval: number | null = null;
  private lastLine = 0;

  constructor(
    private readonly out: NodeJS.WriteStream = process.stderr,
    private readonly tty = Boolean(process.stderr.isTTY),
  ) {}

  memory(e: MemoryEstimate, available: number): void {
    this.line(
      e.gpu !== undefined
        ? `memory estimate: ${formatBytes(e.total)} here of ${formatBytes(available)} available (the weights before they upload), about ${formatBytes(e.gpu)} on the GPU (activations ${formatBytes(e.activations)}, optimizer ${formatBytes(e.optimizer)}); ${e.loraParams.toLocaleString('en')} trainable parameters`
        : `memory estimate: ${formatBytes(e.total)} of ${formatBytes(available)} available (weights ${formatBytes(e.weights)}, activations ${formatBytes(e.activations)}, optimizer ${formatBytes(e.optimizer)}); ${e.loraParams.toLocaleString('en')} trainable parameters`,
    );
  }

  warn(msg: string): void {
    this.line(`warning: ${msg}`);
  }

  event(e: TrainEvent): void {
    switch (e.type) {
      case 'start':
        this.line(
          `training ${e.totalSteps} steps on ${e.trainExamples} examples (${e.valExamples} for validation)${e.resumedFrom ? `, resuming at step ${e.startStep} from ${e.resumedFrom}` : ''}`,
        );
        break;
      case 'step': {
        const width = 24;
        const done = Math.round((width * e.step) / e.totalSteps);
        const text =
          `[${'#'.repeat(done)}${'.'.repeat(width - done)}] ${e.step}/${e.totalSteps} loss ${e.loss.toFixed(4)}` +
          (this.lastEval !== null ? ` eval ${this.lastEval.toFixed(4)}` : '') +
          ` lr ${e.lr.toExponential(2)} gnorm ${e.gradNorm.toFixed(3)} ${Math.round(e.tokensPerSec)} tok/s ${formatDuration(e.elapsedMs)} ETA ${formatDuration(e.etaMs)}`;
        if (this.tty) this.out.write(`\r\x1b[K${text}`);
        else if (e.step === e.totalSteps || e.step - this.lastLine >= Math.max(1, Math.floor(e.totalSteps / 10))) {
          this.lastLine = e.step;
          this.out.write(text + '\n');
        }
        break;
      }
      case 'eval':
        this.lastEval = e.evalLoss;
        this.line(`step ${e.step}: eval loss ${e.evalLoss.toFixed(4)}`);
        break;
      case 'checkpoint':
        this.line(`step ${e.step}: checkpoint ${e.dir}`);
        break;
      case 'answering':
        if (this.tty) this.out.write(`\r\x1b[Kstep ${e.step}: answering the evaluation prompts, ${e.done + 1} of ${e.total}`);
        break;
      case 'answers':
        this.line(`step ${e.step}${e.final ? ' (end)' : ''}: evaluation prompts, base | adapter`);
        for (const a of e.answers) {
          this.out.write(`  > ${oneLine(a.prompt)}\n    base:    ${oneLine(a.base)}\n    adapter: ${oneLine(a.adapter)}${a.finish === 'length' ? ' …' : ''}\n`);
        }
        break;
      case 'paused':
        this.line(`paused at step ${e.step}`);
        break;
      case 'resumed':
        this.line(`resumed at step ${e.step}`);
        break;
      case 'cancelled':
        this.line(`cancelled at step ${e.step}${e.checkpoint ? `; continue with --resume ${e.checkpoint}` : ''}`);
        break;
      case 'done':
        this.line(
          `done: ${e.step} steps, final loss ${e.loss?.toFixed(4) ?? '-'}${e.evalLoss !== null ? `, eval ${e.evalLoss.toFixed(4)}` : ''}, ${e.tokensSeen} tokens in ${formatDuration(e.elapsedMs)}`,
        );
        break;
    }
  }

  /** A whole line, moving off the bar first when one is drawn. */
  private line(text: string): void {
    this.out.write(this.tty ? `\r\x1b[K${text}\n` : `${text}\n`);
  }
}
