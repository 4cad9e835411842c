/** What a drop on the Models or Datasets screen turns into a path, on each platform's way of handing one over. */
import { describe, expect, it } from 'vitest';
import { droppedPath } from '../../src-renderer/lib/drop-path';

function dt(data: Record<string, string>) {
  return { getData: (type: string) => data[type] ?? '' };
}

describe('droppedPath', () => {
  it('reads file:// URIs from a file manager, decoding escapes, skipping comments', () => {
    expect(droppedPath(dt({ 'text/uri-list': '# from nautilus\r\nfile:///home/me/My%20Models/tiny.gguf\r\nfile:///other' }))).toBe('/home/me/My Models/tiny.gguf');
  });

  it('turns a Windows file URI into a drive path', () => {
    expect(droppedPath(dt({ 'text/uri-list': 'file:///C:/Users/me/model.gguf' }))).toBe('C:/Users/me/model.gguf');
  });

  it('accepts a dragged absolute path as plain text, and nothing else', () => {
    expect(droppedPath(dt({ 'text/plain': '/data/models/qwen' }))).toBe('/data/models/qwen');
    expect(droppedPath(dt({ 'text/plain': 'D:\\models\\llama' }))).toBe('D:\\models\\llama');
    expect(droppedPath(dt({ 'text/plain': 'hello world' }))).toBeNull();
    expect(droppedPath(dt({ 'text/uri-list': 'https://example.org/model.gguf' }))).toBeNull();
    expect(droppedPath(dt({}))).toBeNull();
    expect(droppedPath(null)).toBeNull();
  });
});
