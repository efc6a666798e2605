// The README's main blocks work as shown: `make run` on a fresh data
// directory prints what the README shows and serves, and each command of
// "The first transfer" prints what the README shows (timestamps aside),
// run by bash exactly as written but for the address and the key file.
// Then the README's "Stop" paragraph: SIGINT stops cleanly and `replay`
// reports the state hash the server stopped with.
//
// Run: node --import tsx test/integration/readme.test.ts

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { CLI, ROOT, tempDir } from '../support/helpers.ts';

const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

/** The fenced blocks of a README section, in order, with their info string. */
function blocks(section: string): { lang: string; text: string }[] {
  const start = README.indexOf(`## ${section}\n`);
  assert.ok(start >= 0, `the README has a section "${section}"`);
  const end = README.indexOf('\n## ', start + 4);
  const body = README.slice(start, end < 0 ? undefined : end);
  const out: { lang: string; text: string }[] = [];
  const fence = /^```(\w*)\n([\s\S]*?)^```$/gm;
  for (let m = fence.exec(body); m !== null; m = fence.exec(body)) out.push({ lang: m[1], text: m[2] });
  return out;
}

/** JSON with the values that differ from run to run (timestamps, hashes) masked. */
function masked(text: string): unknown {
  return JSON.parse(text.trim().replace(/"timestamp":"\d+"/g, '"timestamp":"T"'));
}

let dir = '';
let make: ChildProcess | null = null;
const lines: string[] = [];

test.after(async () => {
  if (make !== null && make.exitCode === null && make.signalCode === null) {
    try { process.kill(-make.pid!, 'SIGKILL'); } catch { /* the group is gone already */ }
  }
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

test('make run on a fresh data directory prints the README\'s lines and serves; the first transfer works as shown', async () => {
  dir = tempDir('readme');
  const data = join(dir, 'data');
  const devKey = join(dir, 'dev-admin-key.json');
  make = spawn('make', ['--no-print-directory', 'run', `DATA=${data}`, `DEV_KEY=${devKey}`, 'LISTEN=127.0.0.1:0'],
    { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  make.stderr!.on('data', (d) => { stderr += d; });
  const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
    createInterface({ input: make!.stdout! }).on('line', (line) => {
      lines.push(line);
      if (line.startsWith('{"event":"ready"')) resolve(JSON.parse(line));
    });
    make!.on('exit', (code) => reject(new Error(`make run exited ${code} before ready:\n${lines.join('\n')}\n${stderr}`)));
  });
  // What the README shows make run printing, line by line (its key, hashes and numbers are one run's).
  const shown = blocks('The first run')[1].text.trimEnd().split('\n');
  const printed = lines.filter((l) => !l.startsWith('== build') && !l.startsWith('== image') && !l.startsWith('== keys') && !l.startsWith('== install'));
  const shape = (l: string) => l.replace(/"state_hash":"[0-9a-f…]+"/g, '"state_hash":"H"').replace(/qx_[A-Za-z0-9_-]{43}/g, 'KEY')
    .replace(/var\/data\/bank|\S*\/data\b/g, 'DATA').replace(/var\/dev-admin-key\.json|\S*dev-admin-key\.json/g, 'DEVKEY')
    .replace(/127\.0\.0\.1:\d+/g, 'ADDR').replace(/\d+(\.\d+)?/g, 'N');
  assert.equal(printed.slice(0, shown.length).map(shape), shown.map(shape), `make run printed:\n${printed.join('\n')}`);
  const listen = String(ready.listen);

  // The first transfer: each sh block run by bash, its output compared with the block after it.
  const steps = blocks('The first transfer');
  const setup = steps[0].text.split('\n')[0]; // K="Authorization: Bearer $(...)"
  for (let i = 0; i < steps.length; i++) {
    if (steps[i].lang !== 'sh') continue;
    const expected = steps[i + 1];
    assert.ok(expected !== undefined && expected.lang === '', 'each command is followed by its output');
    const script = (i === 0 ? steps[i].text : `${setup}\n${steps[i].text}`)
      .replaceAll('localhost:7000', listen).replaceAll('./var/dev-admin-key.json', devKey);
    const r = spawnSync('bash', ['-e', '-c', script], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
    assert.is(r.status, 0, r.stderr);
    assert.equal(masked(r.stdout), masked(expected.text), `${steps[i].text}\nprinted ${r.stdout}`);
  }

  // Stop: SIGINT (Ctrl-C) to make and its children; the server says stopped with its hash.
  process.kill(-make.pid!, 'SIGINT');
  await new Promise((resolve) => make!.on('exit', resolve));
  const stopped = lines.map((l) => (l.startsWith('{"event":"stopped"') ? JSON.parse(l) : null)).find((e) => e !== null);
  assert.ok(stopped, `a stopped line:\n${lines.slice(-5).join('\n')}`);
  const replay = spawnSync(process.execPath, [CLI, 'replay', '--data', data], { encoding: 'utf8' });
  assert.is(replay.status, 0, replay.stderr);
  assert.is(JSON.parse(replay.stdout.trim().split('\n').at(-1)!).state_hash, stopped.state_hash, 'replay reports the hash the server stopped with');
});

test.run();
