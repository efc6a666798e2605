// scripts/run-banner.mjs: what `make run` prints before it serves: the
// development admin key (made once per data directory, kept in var/) and how
// to revoke it. Usage: node scripts/run-banner.mjs <key file> <data dir> <listen>
import { readFileSync } from 'node:fs';

const [file, data, listen] = process.argv.slice(2);
const k = JSON.parse(readFileSync(file, 'utf8'));
console.log(`== run: development admin key (id ${k.id}, kept in ${file}; valid for ${data} only):
${k.key}
   revoke it (server stopped): node dist/qenex.js keys revoke --id ${k.id} --data ${data}
== run: serving on http://${listen} (Ctrl-C stops)`);
