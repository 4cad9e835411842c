/**
 * Weight files of the graph cache written while their graph is still being built. A weight named by
 * its origin (graph/weight-origin.ts) has its file name as soon as it exists, so its write into the
 * build's stage (stage.ts) is handed to libuv's thread pool right then, and the disk works while the
 * build goes on reading and encoding the next weights. The stage makes the files durable and moves them
 * into the cache later, so a reader of the cache never sees a torn file.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { DType, TypedData } from '../graph/ir.js';
import { originFileName } from '../graph/onnx-writer.js';
import type { Stage } from './stage.js';

interface Staged {
  stage: Stage;
  written: Promise<void>;
}

/** Writes of this process by target path in the cache, while their stage is open: a weight two builds share is written once. */
const inflight = new Map<string, Staged>();

/** The early writes of one graph's build: collects them, then hands each to the save (finish). */
export class EarlyWrites {
  private readonly own = new Map<string, Promise<void>>();
  private readonly joined = new Map<string, Staged>();

  constructor(
    private readonly stage: Stage,
    /** The graph cache's code stamp: the salt of origin-named files. */
    private readonly salt: string,
    /** Smaller weights stay inline in the model file (Graph.externalThreshold's default). */
    private readonly minBytes = 1024,
  ) {}

  /** weight-origin's listener: starts the weight's file unless the cache has it or another build is writing it. */
  readonly seen = (data: TypedData, dtype: DType, origin: string): void => {
    if (data.byteLength < this.minBytes) return;
    const name = originFileName(this.salt, dtype, origin);
    if (this.own.has(name) || this.joined.has(name)) return;
    const target = path.join(this.stage.cacheDir, name);
    const other = inflight.get(target);
    if (other && !other.stage.isClosed) {
      this.joined.set(name, other);
      return;
    }
    inflight.delete(target);
    if (existsSync(target)) return;
    const written = this.stage.write(name, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    inflight.set(target, { stage: this.stage, written });
    this.own.set(name, written);
  };

  /**
   * Waits for `name` if this build started or joined its write: true once the file is in this build's
   * stage. A write this build started that failed throws (a full disk, named); a joined one that failed, or
   * whose file cannot be linked in, returns false and the save writes the bytes itself.
   */
  async finish(name: string): Promise<boolean> {
    const mine = this.own.get(name);
    if (mine) {
      this.own.delete(name);
      await mine;
      return true;
    }
    const other = this.joined.get(name);
    if (!other) return false;
    this.joined.delete(name);
    try {
      await other.written;
    } catch {
      return false;
    }
    // the other build's stage, or the cache once that stage has moved it there
    return (await this.stage.linkIn(other.stage.path(name), name)) || (await this.stage.linkIn(path.join(this.stage.cacheDir, name), name));
  }

  /** Waits for the writes the graph did not claim (a failed build, a weight pruned from the graph). */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.own.values()]);
    this.own.clear();
    this.joined.clear();
  }
}
