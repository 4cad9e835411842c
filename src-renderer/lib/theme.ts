/**
 * The colour theme: the user's choice (Settings) or the OS's. It sets <html data-theme="light|dark">, which
 * app.css keys its colours on, and tells canvases (charts) to redraw with a 'graft-theme' event.
 */
import type { ThemeChoice } from '../../src-main/ipc/app';

const media = matchMedia('(prefers-color-scheme: dark)');
let choice: ThemeChoice = 'system';

function apply(): void {
  const dark = choice === 'dark' || (choice === 'system' && media.matches);
  document.documentElement.dataset.theme = dark ? 'dark' : 'light';
  window.dispatchEvent(new Event('graft-theme'));
}

media.addEventListener('change', apply);
apply();

export function setTheme(next: ThemeChoice): void {
  choice = next;
  apply();
}
