/**
 * Checks of request payloads from an untrusted peer, shared by the domains' validators: each failure is a
 * BAD_INPUT error naming the channel and the key.
 */
import { GraftError } from '../engine/errors';

export function bad(channel: string, key: string, want: string): never {
  throw new GraftError('BAD_INPUT', `${channel}: "${key}" must be ${want}`, { where: key });
}
export function obj(channel: string, req: unknown): Record<string, unknown> {
  if (!req || typeof req !== 'object' || Array.isArray(req)) bad(channel, '(request)', 'an object');
  return req as Record<string, unknown>;
}
export function str(channel: string, o: Record<string, unknown>, key: string): string {
  const v = o[key];
  if (typeof v !== 'string' || !v.trim()) bad(channel, key, 'a non-empty string');
  return v;
}
export function optStr(channel: string, o: Record<string, unknown>, key: string): string | undefined {
  const v = o[key];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') bad(channel, key, 'a string');
  return v;
}
export function num(channel: string, o: Record<string, unknown>, key: string, min: number, max: number): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) bad(channel, key, `a number from ${min} to ${max}`);
  return v;
}
export function strList(channel: string, o: Record<string, unknown>, key: string): string[] {
  const v = o[key] ?? [];
  if (!Array.isArray(v) || v.some((t) => typeof t !== 'string')) bad(channel, key, 'a list of strings');
  return v as string[];
}
