/**
 * Child process for the crash-safety test: performs library operations in a loop until the parent kills it.
 * argv: <library root> <adapter folder> <mode: import|rename|mixed>
 */
import { AdapterLibrary } from '../../../src-main/store/library.js';
import { importAdapter } from '../../../src-main/store/import.js';
import { moveToTrash, restoreFromTrash } from '../../../src-main/store/trash.js';

const [root, adapter, mode] = process.argv.slice(2);
const lib = await AdapterLibrary.open(root, { staleMs: 2000, waitMs: 20_000 });
process.stdout.write('ready\n');
for (let i = 0; ; i++) {
  if (mode === 'import-same') {
    // every process asks for the same name: the library must hand out distinct ones
    await importAdapter(lib, adapter, { name: 'same' });
  } else if (mode === 'import' || (mode === 'mixed' && i % 3 === 0)) {
    await importAdapter(lib, adapter, { name: `imported-${process.pid}-${i}` });
  } else if (mode === 'rename' || (mode === 'mixed' && i % 3 === 1)) {
    // names alternate between two values so the parent knows which names are legitimate
    const e = await lib.get('target').catch(() => lib.get('target-renamed'));
    await lib.rename(e.meta.id, e.meta.name === 'target' ? 'target-renamed' : 'target');
  } else {
    // a kill between the two steps leaves it in the trash: then the next round starts by restoring it
    if (await lib.get('victim').catch(() => undefined)) await moveToTrash(lib, 'victim');
    await restoreFromTrash(lib, 'victim');
  }
}
