/**
 * Files between this browser and the machine running `graft serve` (the browser shell only; Electron has its
 * dialogs): downloads of what the host wrote (exports), and uploads of what the host should read (an adapter
 * to import), both over the page's token-guarded connection (host/downloads.ts, host/uploads.ts).
 */
import { UPLOAD_PIECE_BYTES } from '../../src-main/ipc/app';
import { api } from './api';

/** Asks the host for a one-time link to `path` (a folder comes as a zip or tar) and lets the browser save it. */
export async function downloadToBrowser(path: string): Promise<string> {
  const offer = await api.call('app.download', { path });
  const a = document.createElement('a');
  a.href = offer.url;
  a.download = offer.name;
  a.rel = 'noopener';
  document.body.append(a);
  a.click();
  a.remove();
  return offer.name;
}

/** A file picked in the page, with its path inside what was picked ("my-adapter/adapter_config.json"). */
export interface PickedFile {
  name: string;
  file: File;
}

/** The files of a file input: a picked folder keeps its relative paths, single files their names. */
export function pickedFiles(list: FileList | null): PickedFile[] {
  return [...(list ?? [])].map((file) => ({ name: file.webkitRelativePath || file.name, file }));
}

/** What the user picked, in words: its folder's name, its one file's, or "the uploaded files". */
export function pickedName(files: PickedFile[]): string {
  const tops = new Set(files.map((f) => f.name.split('/')[0]));
  return tops.size === 1 ? `"${[...tops][0]}"` : 'the uploaded files';
}

function base64(bytes: Uint8Array): string {
  let text = '';
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(text);
}

export interface UploadProgress {
  sent: number;
  total: number;
}

/**
 * Uploads the files in pieces, in order, and resolves with the path the host gave them, ready for an import.
 * `signal` cancels between pieces (the host's partial upload is removed). Call `discard` once the path is used.
 */
export async function uploadToHost(
  files: PickedFile[],
  onProgress: (p: UploadProgress) => void,
  signal?: AbortSignal,
): Promise<{ path: string; discard: () => Promise<void> }> {
  const total = files.reduce((s, f) => s + f.file.size, 0);
  const { uploadId } = await api.call('app.uploadStart', { files: files.map((f) => ({ name: f.name, bytes: f.file.size })) });
  const discard = async () => void (await api.invoke('app.uploadDiscard', { uploadId }));
  try {
    let sent = 0;
    onProgress({ sent, total });
    for (const [index, f] of files.entries()) {
      for (let offset = 0; offset < f.file.size; offset += UPLOAD_PIECE_BYTES) {
        if (signal?.aborted) throw new DOMException('The upload was cancelled.', 'AbortError');
        const piece = new Uint8Array(await f.file.slice(offset, offset + UPLOAD_PIECE_BYTES).arrayBuffer());
        await api.call('app.uploadChunk', { uploadId, index, offset, data: base64(piece) });
        sent += piece.length;
        onProgress({ sent, total });
      }
    }
    const { path } = await api.call('app.uploadFinish', { uploadId });
    return { path, discard };
  } catch (err) {
    await discard();
    throw err;
  }
}
