/**
 * Reassembles invoke messages the page sent in parts (wire.ts splitMessage): a dataset dropped on the page is
 * bigger than one frame may be. Bounded per socket: the parts held at once never exceed MAX_ASSEMBLED_BYTES
 * (counted as UTF-8 at most 3 bytes a character), so one page cannot make the host hold more.
 */
import { MAX_ASSEMBLED_BYTES } from '../ipc/wire';

export type PartResult = { whole: string } | { pending: true } | { refused: string };

export class PartAssembler {
  private readonly open = new Map<number, string[]>();
  private held = 0;

  add(id: unknown, data: unknown, last: unknown): PartResult {
    if (!Number.isInteger(id) || typeof data !== 'string' || typeof last !== 'boolean') return { refused: 'a malformed part' };
    const cost = data.length * 3;
    if (this.held + cost > MAX_ASSEMBLED_BYTES) return { refused: `parts over ${MAX_ASSEMBLED_BYTES / 2 ** 20} MiB in all` };
    const parts = this.open.get(id as number) ?? [];
    parts.push(data);
    this.held += cost;
    if (!last) {
      this.open.set(id as number, parts);
      return { pending: true };
    }
    this.open.delete(id as number);
    for (const p of parts) this.held -= p.length * 3;
    return { whole: parts.join('') };
  }
}
