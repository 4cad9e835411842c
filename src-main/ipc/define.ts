import type { Channel, HandlerTable, StreamName } from './contract';

/** Keys of T that the contract does not know: each becomes `never`, so an extra handler is a type error. */
type NoExtraKeys<T> = { [K in Exclude<keyof T, Channel>]: never };

/**
 * Builds the handler table. A missing channel fails `T extends HandlerTable`; an extra one fails NoExtraKeys;
 * a handler with the wrong payload or result type fails the mapped Handler<C> signature.
 */
export function defineHandlers<T extends HandlerTable>(table: T & NoExtraKeys<T>): HandlerTable {
  return table;
}

/** Runtime list of stream names (the contract is types only); a missing or extra name is a type error. */
const streamSet: { [S in StreamName]: true } = {
  'engine.status': true,
  'chat.token': true,
  'models.download': true,
  'train.update': true,
  'train.history': true,
};

export function isStreamName(name: unknown): name is StreamName {
  return typeof name === 'string' && Object.hasOwn(streamSet, name);
}
