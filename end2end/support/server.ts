// Starts the release `latchkey` binary on a fresh temporary SQLite database and a free port, and stops it
// afterwards. The port is asked of the OS, and the server must be our own child and stay alive: a stale
// server left running elsewhere can never be the one under test.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

const binary = process.env.LATCHKEY_BIN ?? path.resolve(__dirname, '../../target/release/latchkey');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

async function waitUntilReady(url: string, child: ChildProcess, logFile: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new Error(`latchkey exited with ${child.exitCode} before it was ready:\n${readFileSync(logFile, 'utf8')}`);
    }
    try {
      const response = await fetch(`${url}/readyz`);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`latchkey did not become ready at ${url}:\n${readFileSync(logFile, 'utf8')}`);
}

export default async function globalSetup(): Promise<() => Promise<void>> {
  if (!existsSync(binary)) {
    throw new Error(`${binary} is missing: build the release server first (make build).`);
  }
  const workdir = mkdtempSync(path.join(tmpdir(), 'latchkey-e2e-'));
  const logFile = path.join(workdir, 'server.log');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const log = createWriteStream(logFile);
  // None of the developer's own LATCHKEY_* settings: the server gets the defaults, so its database is a new
  // latchkey.db in the temporary working directory, which also shows it runs from any directory.
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('LATCHKEY_')));
  const child = spawn(binary, ['serve'], {
    cwd: workdir,
    // Every browser here signs up from 127.0.0.1; the per-address sign-up limit has tests of its own.
    env: { ...env, LATCHKEY_ADDR: `127.0.0.1:${port}`, LATCHKEY_LOG: 'info', LATCHKEY_SIGN_UPS_PER_HOUR: '10000' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  await waitUntilReady(url, child, logFile);
  process.env.LATCHKEY_E2E_BASE_URL = url;
  process.env.LATCHKEY_E2E_WORKDIR = workdir;

  return async () => {
    if (child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    if (process.env.LATCHKEY_E2E_KEEP !== '1') rmSync(workdir, { recursive: true, force: true });
  };
}
