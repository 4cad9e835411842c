/**
 * Handlers of the Adapters screen's channels, merged into the one table in handlers/index.ts.
 * Payloads come from an untrusted peer: each is checked here before it reaches a service.
 */
import type { Services } from '../../services/index';
import type { Handler } from '../contract';
import { parseAdapterExport, parseAdapterExportMethod, parseAdapterImport, type AdapterSortKey, type AdaptersChannels } from '../adapters';
import { bad, num, obj, optStr, str, strList } from '../checks';

const SORTS: AdapterSortKey[] = ['name', 'created', 'size', 'rank'];

export function adapterHandlers(services: Services): { [C in keyof AdaptersChannels]: Handler<C> } {
  const { adapters } = services;
  return {
    'adapters.list': (req) => {
      const o = req ? obj('adapters.list', req) : {};
      if (o.sort !== undefined && !SORTS.includes(o.sort as AdapterSortKey)) bad('adapters.list', 'sort', SORTS.join(', '));
      return adapters.list({
        query: optStr('adapters.list', o, 'query'),
        tags: strList('adapters.list', o, 'tags'),
        sort: o.sort as AdapterSortKey | undefined,
        descending: o.descending === true,
      });
    },
    'adapters.rename': (req) =>
      adapters.rename(str('adapters.rename', obj('adapters.rename', req), 'id'), str('adapters.rename', req, 'name')),
    'adapters.setTags': (req) =>
      adapters.setTags(str('adapters.setTags', obj('adapters.setTags', req), 'id'), strList('adapters.setTags', req, 'tags')),
    'adapters.setNotes': (req) => {
      const o = obj('adapters.setNotes', req);
      if (typeof o.notes !== 'string') bad('adapters.setNotes', 'notes', 'a string');
      return adapters.setNotes(str('adapters.setNotes', o, 'id'), o.notes);
    },
    'adapters.delete': (req) => adapters.remove(str('adapters.delete', obj('adapters.delete', req), 'id')),
    'adapters.restore': (req) => adapters.restore(req ? optStr('adapters.restore', obj('adapters.restore', req), 'id') : undefined),
    'adapters.import': (req) => adapters.import(parseAdapterImport(req)),
    'adapters.export': (req) => adapters.export(parseAdapterExport(req)),
    'adapters.exportMethod': (req) => adapters.exportMethod(parseAdapterExportMethod(req)),
    'adapters.blend': (req) => {
      const c = 'adapters.blend';
      const o = obj(c, req);
      if (!Array.isArray(o.parts) || o.parts.length < 2) bad(c, 'parts', 'a list of at least two adapters');
      const parts = o.parts.map((p) => {
        const x = obj(c, p);
        return { id: str(c, x, 'id'), weight: num(c, x, 'weight', -10, 10) };
      });
      const rank = o.rank === undefined || o.rank === null ? undefined : Math.round(num(c, o, 'rank', 1, 4096));
      return adapters.blend({ parts, name: str(c, o, 'name'), rank });
    },
  };
}
