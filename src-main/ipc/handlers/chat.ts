/**
 * Handlers of the Chat screen's channels, merged into the one table in handlers/index.ts.
 * Payloads come from an untrusted peer: each is checked (ipc/chat.ts) before it reaches a service.
 */
import type { Services } from '../../services/index';
import type { Handler } from '../contract';
import { parseChatGenerate, type ChatChannels } from '../chat';
import { obj, str } from '../checks';

export function chatHandlers(services: Services): { [C in keyof ChatChannels]: Handler<C> } {
  const { adapters, conversations } = services;
  return {
    'chat.generate': (req) => services.worker.call('chat.generate', { ...parseChatGenerate(req), library: adapters.root }),
    'chat.stop': (req) => services.worker.call('chat.stop', { runId: str('chat.stop', obj('chat.stop', req), 'runId') }),
    'conversations.list': () => conversations.list(),
    'conversations.get': (req) => conversations.get(str('conversations.get', obj('conversations.get', req), 'id')),
    'conversations.save': (req) => conversations.save(req),
    'conversations.delete': (req) => conversations.remove(str('conversations.delete', obj('conversations.delete', req), 'id')),
  };
}
