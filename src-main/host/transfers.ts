/**
 * The browser host's handlers of the app's file-transfer channels (`app.download`, `app.upload*`), which the
 * shared handler table refuses (the desktop app has its dialogs). Requests are checked here; the `path` of a
 * download is confined before it arrives, like every path the page names (confine.ts).
 */
import { GraftError } from '../engine/errors';
import type { AppChannels } from '../ipc/app';
import { obj, str } from '../ipc/checks';
import type { Handler } from '../ipc/contract';
import type { Downloads } from './downloads';
import type { Uploads } from './uploads';

type TransferChannel = 'app.download' | 'app.uploadStart' | 'app.uploadChunk' | 'app.uploadFinish' | 'app.uploadDiscard';

export function transferHandlers(downloads: Downloads, uploads: Uploads | null): { [C in TransferChannel & keyof AppChannels]: Handler<C> } {
  const up = (channel: string): Uploads => {
    if (!uploads) throw new GraftError('UNSUPPORTED', `${channel}: this host takes no uploads (it was started without an upload folder)`, { where: channel });
    return uploads;
  };
  return {
    'app.download': (req) => downloads.offer(str('app.download', obj('app.download', req), 'path')),
    'app.uploadStart': (req) => up('app.uploadStart').start(obj('app.uploadStart', req) as never),
    'app.uploadChunk': (req) => up('app.uploadChunk').chunk(obj('app.uploadChunk', req) as never),
    'app.uploadFinish': (req) => up('app.uploadFinish').finish(str('app.uploadFinish', obj('app.uploadFinish', req), 'uploadId')),
    'app.uploadDiscard': (req) => up('app.uploadDiscard').discard(str('app.uploadDiscard', obj('app.uploadDiscard', req), 'uploadId')),
  };
}
