/**
 * Turns generated token ids into text deltas, and stops on stop strings even when one is split across
 * tokens. Text that could still be the start of a stop string, or that ends in an incomplete UTF-8
 * sequence, is held back until the next token decides it.
 */
import type { TextTokenizer } from '../tokenize/types.js';

export class TextStream {
  private ids: number[] = [];
  private emitted = 0;
  /** Set once a stop string has appeared; the text is cut before it. */
  stopped: string | null = null;
  text = '';

  constructor(
    private readonly tokenizer: TextTokenizer,
    private readonly stops: readonly string[] = [],
  ) {}

  /** Adds a token; returns the text that is now final (possibly ''). */
  push(id: number): string {
    this.ids.push(id);
    let text = this.tokenizer.decode(this.ids, { skipSpecial: true });
    for (const s of this.stops) {
      const at = s ? text.indexOf(s) : -1;
      if (at >= 0 && (this.stopped === null || at < text.indexOf(this.stopped))) {
        this.stopped = s;
      }
    }
    if (this.stopped !== null) text = text.slice(0, text.indexOf(this.stopped));
    this.text = text;
    let safe = text.length;
    if (this.stopped === null) {
      if (text.endsWith('\uFFFD')) safe = text.length - 1;
      for (const s of this.stops) {
        for (let k = Math.min(s.length - 1, text.length); k > 0; k--) {
          if (text.endsWith(s.slice(0, k))) {
            safe = Math.min(safe, text.length - k);
            break;
          }
        }
      }
    }
    if (safe <= this.emitted) return '';
    const delta = text.slice(this.emitted, safe);
    this.emitted = safe;
    return delta;
  }

  /** Whatever was held back, at the end of generation. */
  flush(): string {
    const rest = this.text.slice(this.emitted);
    this.emitted = this.text.length;
    return rest;
  }
}
