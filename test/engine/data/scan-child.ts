/** Child process for the streaming test: scans a dataset and reports its own peak resident memory. */
import { scanDataset } from '../../../src-main/engine/data/scan.js';
const t = await scanDataset(process.argv[2], {}, () => {});
console.log(JSON.stringify({ records: t.records, maxRssKiB: process.resourceUsage().maxRSS }));
