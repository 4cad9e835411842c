import type { AdapterEntry, AdapterListing, AdapterSortKey } from '../../src-main/ipc/adapters';
import { api } from './api';
import { errorText } from './errors';

/** The Adapters screen's state: the library as last listed, its filters, the selection and the undo offer. */
class AdapterLibraryState {
  listing = $state<AdapterListing | null>(null);
  query = $state('');
  sort = $state<AdapterSortKey>('created');
  descending = $state(true);
  tagFilter = $state<string[]>([]);
  selectedId = $state<string | null>(null);
  error = $state<string | null>(null);
  loading = $state(false);
  /** The adapter just deleted, offered back through Undo until another action. */
  undo = $state<{ id: string; name: string } | null>(null);
  /** A short message for the live region (what just happened). */
  notice = $state('');
  private seq = 0;

  get selected(): AdapterEntry | null {
    return this.listing?.entries.find((e) => e.meta.id === this.selectedId) ?? null;
  }

  async refresh(): Promise<void> {
    const mine = ++this.seq;
    this.loading = true;
    try {
      const listing = await api.call('adapters.list', {
        query: this.query,
        tags: this.tagFilter,
        sort: this.sort,
        descending: this.descending,
      });
      if (mine !== this.seq) return; // a newer search is on its way
      this.listing = listing;
      this.error = null;
      if (this.selectedId && !listing.entries.some((e) => e.meta.id === this.selectedId)) this.selectedId = null;
      this.selectedId ??= listing.entries[0]?.meta.id ?? null;
    } catch (err) {
      if (mine === this.seq) this.error = errorText(err);
    } finally {
      if (mine === this.seq) this.loading = false;
    }
  }

  /** Runs an action, shows its error if any, and relists. Returns whether it succeeded. */
  async act(what: () => Promise<unknown>, notice?: string): Promise<boolean> {
    try {
      await what();
      this.error = null;
      if (notice) this.notice = notice;
      return true;
    } catch (err) {
      this.error = errorText(err);
      return false;
    } finally {
      await this.refresh();
    }
  }

  async remove(entry: AdapterEntry): Promise<void> {
    const ok = await this.act(() => api.call('adapters.delete', { id: entry.meta.id }), `Moved "${entry.meta.name}" to the trash.`);
    if (ok) this.undo = { id: entry.meta.id, name: entry.meta.name };
  }

  async restore(): Promise<void> {
    const u = this.undo;
    if (!u) return;
    this.undo = null;
    let back: AdapterEntry | null = null;
    await this.act(async () => {
      back = await api.call('adapters.restore', { id: u.id });
    }, `Restored "${u.name}".`);
    if (back) this.selectedId = (back as AdapterEntry).meta.id;
  }
}

export const library = new AdapterLibraryState();
