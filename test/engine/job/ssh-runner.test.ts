/**
 * The SSH runner against a real sshd that this test starts on 127.0.0.1 (its own host key, config and
 * authorized key in a temporary folder), with the system's ssh client, as a user's would be used.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runBundleOverSsh, shq, type RemoteEvent, type SshTarget } from '../../../src-main/engine/job/ssh-runner.js';

const SSHD = '/usr/sbin/sshd';
const ROOT = new URL('../../../', import.meta.url).pathname;
const usable = existsSync(SSHD) && spawnSync('ssh', ['-V']).status === 0 && spawnSync('ssh-keygen', ['--help']).status !== null;
const dir = mkdtempSync(join(tmpdir(), 'graft-ssh-'));

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** A stand-in bundle whose launch.sh prints train.py-style JSON lines (the real one needs torch). */
function fakeBundle(name: string, body: string): string {
  const b = join(dir, name);
  mkdirSync(b, { recursive: true });
  writeFileSync(join(b, 'launch.sh'), `#!/usr/bin/env bash\nset -e\ncd "$(dirname "$0")"\n${body}\n`);
  writeFileSync(join(b, 'graft-job.json'), '{"kind":"graft-job"}\n');
  return b;
}

describe.skipIf(!usable)('runBundleOverSsh (skipped: needs /usr/sbin/sshd, ssh and ssh-keygen — apt-get install openssh-server)', () => {
  let sshd: ChildProcess;
  let target: SshTarget;

  beforeAll(async () => {
    for (const k of ['host_key', 'client_key']) expect(spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, k)]).status).toBe(0);
    writeFileSync(join(dir, 'authorized_keys'), readFileSync(join(dir, 'client_key.pub')));
    chmodSync(join(dir, 'client_key'), 0o600);
    const port = await freePort();
    writeFileSync(
      join(dir, 'sshd_config'),
      [
        `Port ${port}`,
        'ListenAddress 127.0.0.1',
        `HostKey ${join(dir, 'host_key')}`,
        `PidFile ${join(dir, 'sshd.pid')}`,
        `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
        'StrictModes no',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'UsePAM no',
        'PermitRootLogin prohibit-password',
        'UseDNS no',
      ].join('\n') + '\n',
    );
    if (process.getuid?.() === 0) mkdirSync('/run/sshd', { recursive: true }); // sshd's privilege-separation folder
    sshd = spawn(SSHD, ['-D', '-e', '-f', join(dir, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    sshd.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    target = {
      host: `${userInfo().username}@127.0.0.1`,
      port,
      identity: join(dir, 'client_key'),
      options: ['-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR'],
    };
    const args = ['-p', String(port), '-i', target.identity!, ...target.options!, target.host, 'true'];
    for (let i = 0; spawnSync('ssh', args, { timeout: 30_000 }).status !== 0; i++) {
      if (i > 30) throw new Error(`sshd did not come up: ${log}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }, 180_000);

  afterAll(() => {
    sshd?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  test('copies the bundle, runs launch.sh with its environment and arguments, streams the JSON lines and fetches the adapter', async () => {
    const bundle = fakeBundle(
      'ok',
      [
        'echo "nproc=$GRAFT_NPROC args=$*" >&2',
        'for i in 1 2 3; do echo "{\\"type\\":\\"step\\",\\"step\\":$i,\\"loss\\":$((4 - i))}"; done',
        'mkdir -p output/adapter; cp graft-job.json output/adapter/graft.json; echo weights > output/adapter/adapter_model.safetensors',
        'echo \'{"type":"done","step":3}\'',
      ].join('\n'),
    );
    const events: RemoteEvent[] = [];
    const logs: string[] = [];
    const remoteDir = join(dir, 'remote', "it's here");
    const r = await runBundleOverSsh(target, {
      bundle,
      remoteDir,
      env: { GRAFT_NPROC: '2' },
      launchArgs: ['--precision', "fp32 it's"],
      fetchTo: join(dir, 'back'),
      onEvent: (e) => events.push(e),
      onLog: (l) => logs.push(l),
    });
    expect(r).toEqual({ cancelled: false, exitCode: 0, adapter: join(dir, 'back') });
    expect(events.map((e) => [e.type, (e as { step?: number }).step])).toEqual([['step', 1], ['step', 2], ['step', 3], ['done', 3]]);
    expect(logs).toContain("nproc=2 args=--precision fp32 it's");
    expect(existsSync(join(remoteDir, 'graft-job.json'))).toBe(true);
    expect(readFileSync(join(dir, 'back', 'adapter_model.safetensors'), 'utf8')).toBe('weights\n');
    expect(readFileSync(join(dir, 'back', 'graft.json'), 'utf8')).toContain('graft-job');
  }, 180_000);

  test('cancel stops the whole remote process group and fetches nothing', async () => {
    const bundle = fakeBundle('slow', ['sleep 300 &', 'echo $! > child.pid', 'i=0; while true; do i=$((i + 1)); echo "{\\"type\\":\\"step\\",\\"step\\":$i}"; sleep 0.2; done'].join('\n'));
    const ac = new AbortController();
    const remoteDir = join(dir, 'remote-slow');
    const events: RemoteEvent[] = [];
    const r = await runBundleOverSsh(target, {
      bundle,
      remoteDir,
      fetchTo: join(dir, 'never'),
      signal: ac.signal,
      onEvent: (e) => {
        events.push(e);
        if (events.length === 2) ac.abort();
      },
    });
    expect(r.cancelled).toBe(true);
    expect(r.adapter).toBeNull();
    expect(existsSync(join(dir, 'never'))).toBe(false);
    // launch.sh's own background child went with it (it is in the same process group).
    const child = readFileSync(join(remoteDir, 'child.pid'), 'utf8').trim();
    await expect.poll(() => spawnSync('kill', ['-0', child]).status, { timeout: 30_000 }).not.toBe(0);
    const runner = readFileSync(join(remoteDir, '.graft-run.pid'), 'utf8').trim();
    expect(spawnSync('kill', ['-0', runner]).status).not.toBe(0);
  }, 180_000);

  test('a failed run reports its exit code; a host that refuses the key is an error naming it', async () => {
    const bundle = fakeBundle('fails', 'echo \'{"type":"error","message":"data/train.jsonl: sha256 mismatch"}\'; exit 2');
    const events: RemoteEvent[] = [];
    const r = await runBundleOverSsh(target, { bundle, remoteDir: join(dir, 'remote-fail'), fetchTo: join(dir, 'none'), onEvent: (e) => events.push(e) });
    expect(r).toEqual({ cancelled: false, exitCode: 2, adapter: null });
    expect(events).toEqual([{ type: 'error', message: 'data/train.jsonl: sha256 mismatch' }]);

    const other = join(dir, 'other_key');
    spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', other]);
    await expect(runBundleOverSsh({ ...target, identity: other, options: [...target.options!, '-o', 'IdentityAgent=none'] }, { bundle, remoteDir: join(dir, 'x') })).rejects.toMatchObject({
      code: 'IO',
      message: expect.stringContaining(`ssh ${target.host}:`),
    });
  }, 180_000);

  test('graft job run drives it from the command line, printing the remote JSON lines', () => {
    const bundle = fakeBundle('cli', ['echo \'{"type":"step","step":1,"loss":2}\'', 'mkdir -p output/adapter; echo w > output/adapter/adapter_model.safetensors'].join('\n'));
    const opts = target.options!.flatMap((o, i) => (i % 2 ? ['--ssh-option', o] : []));
    const r = spawnSync(
      process.execPath,
      [join(ROOT, 'bin/graft.mjs'), 'job', 'run', bundle, '--ssh', target.host, '--port', String(target.port), '--identity', target.identity!, ...opts, '--remote-dir', join(dir, 'remote-cli'), '--nproc', '1', '--json'],
      { encoding: 'utf8', timeout: 170_000 },
    );
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toEqual([{ type: 'step', step: 1, loss: 2 }, { type: 'result', adapter: join(bundle, 'output', 'adapter') }]);
    expect(existsSync(join(bundle, 'output', 'adapter', 'adapter_model.safetensors'))).toBe(true);
  }, 180_000);

  test('shq quotes for a POSIX shell', () => {
    expect(spawnSync('sh', ['-c', `printf %s ${shq("a b'c $HOME")}`], { encoding: 'utf8' }).stdout).toBe("a b'c $HOME");
  });
});
