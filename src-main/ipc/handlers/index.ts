import type { HandlerTable } from '../contract';
import { defineHandlers } from '../define';
import type { Services } from '../../services/index';
import { adapterHandlers } from './adapters';
import { appHandlers } from './app';
import { chatHandlers } from './chat';
import { datasetHandlers } from './datasets';
import { modelHandlers } from './models';
import { trainHandlers } from './train';

/** The one handler table, served by Electron IPC and the browser host alike; one part per domain. */
export function createHandlers(services: Services): HandlerTable {
  return defineHandlers({
    ...appHandlers(services),
    ...modelHandlers(services),
    ...datasetHandlers(services),
    ...trainHandlers(services),
    ...adapterHandlers(services),
    ...chatHandlers(services),
  });
}
