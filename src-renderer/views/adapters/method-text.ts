/** An adapter's method in words for the library: its label, and its rank where it has one ("Houlsby adapter", "LoRA, rank 8"). */
import { METHODS, type AdapterMeta } from '../../../src-main/ipc/adapters';

export function methodText(m: Pick<AdapterMeta, 'method' | 'r'>): string {
  const label = METHODS[m.method as keyof typeof METHODS]?.label ?? m.method.toUpperCase();
  return m.r ? `${label}, rank ${m.r}` : label;
}
