import type { Command } from 'commander';
import { registerAdapters } from './adapters';
import { registerDataset } from './dataset';
import { registerJob } from './job';
import { registerChat } from './chat.js';
import { registerCompare } from './compare.js';
import { registerEngine } from './engine.js';
import { registerExportMethod } from './export-method.js';
import { registerModels } from './models';
import { registerServe } from './serve';
import { registerTrain } from './train';

/** Each feature adds its subcommands to the program; the CLI entry point calls every registrar in order. */
export type CommandRegistrar = (program: Command) => void;

export const registrars: CommandRegistrar[] = [registerEngine, registerCompare, registerChat, registerServe, registerDataset, registerTrain, registerJob, registerAdapters, registerExportMethod, registerModels];
