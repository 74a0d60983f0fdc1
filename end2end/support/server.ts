// Starts a real SMTP server (end2end/support/smtp_sink.py), then the release `latchkey` binary twice, each on a fresh temporary SQLite database and a free port, and
// stops them afterwards: once as it ships, and once inside a provider's product (its brand, its OpenID
// Connect provider from `oidc-provider.mjs`, its app from `provider-app.mjs`). Ports are asked of the OS, and
// every server must be our own child and stay alive: a stale server left running elsewhere can never be the
// one under test.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
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

/** A child process that prints "ready" on standard output once it serves. */
async function startReady(command: string, args: string[], logFile: string, env: NodeJS.ProcessEnv): Promise<ChildProcess> {
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const log = createWriteStream(logFile);
  child.stderr?.pipe(log);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${args[0]} did not start:\n${readFileSync(logFile, 'utf8')}`)), 30_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      log.write(chunk);
      if (chunk.toString().includes('ready')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${args[0]} exited with ${code}:\n${readFileSync(logFile, 'utf8')}`));
    });
  });
  return child;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

/** Starts the release binary in a new working directory with `settings`; answers its URL, directory and process. */
async function startLatchkey(port: number, settings: Record<string, string>): Promise<{ url: string; workdir: string; child: ChildProcess }> {
  const workdir = mkdtempSync(path.join(tmpdir(), 'latchkey-e2e-'));
  const logFile = path.join(workdir, 'server.log');
  const url = `http://127.0.0.1:${port}`;
  const log = createWriteStream(logFile);
  // None of the developer's own LATCHKEY_* settings: the server gets the defaults, so its database is a new
  // latchkey.db in the temporary working directory, which also shows it runs from any directory.
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('LATCHKEY_')));
  const child = spawn(binary, ['serve'], {
    cwd: workdir,
    // Every browser here signs up from 127.0.0.1; the per-address sign-up limit has tests of its own.
    env: { ...env, LATCHKEY_ADDR: `127.0.0.1:${port}`, LATCHKEY_LOG: 'info', LATCHKEY_SIGN_UPS_PER_HOUR: '10000', ...settings },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  await waitUntilReady(url, child, logFile);
  return { url, workdir, child };
}

export default async function globalSetup(): Promise<() => Promise<void>> {
  if (!existsSync(binary)) {
    throw new Error(`${binary} is missing: build the release server first (make build).`);
  }
  // A real SMTP server (aiosmtpd) that writes each message it accepts as JSON into a directory.
  const mailDir = mkdtempSync(path.join(tmpdir(), 'latchkey-e2e-mail-'));
  const smtpPort = await freePort();
  const python = process.env.LATCHKEY_TEST_PYTHON ?? path.resolve(__dirname, '../.venv/bin/python');
  const smtp = await startReady(
    python,
    [path.join(__dirname, 'smtp_sink.py'), '--port', String(smtpPort), '--dir', mailDir],
    path.join(mailDir, '..', `${path.basename(mailDir)}.log`),
    process.env,
  );
  process.env.LATCHKEY_E2E_MAIL_DIR = mailDir;
  // A webhook receiver (checked afterwards with the Standard Webhooks reference library).
  const hookDir = mkdtempSync(path.join(tmpdir(), 'latchkey-e2e-hooks-'));
  const hookPort = await freePort();
  const hooks = await startReady(
    python,
    [path.join(__dirname, 'webhook_receiver.py'), 'serve', '--port', String(hookPort), '--dir', hookDir],
    path.join(hookDir, '..', `${path.basename(hookDir)}.log`),
    process.env,
  );
  process.env.LATCHKEY_E2E_HOOK_DIR = hookDir;
  process.env.LATCHKEY_E2E_HOOK_URL = `http://127.0.0.1:${hookPort}`;

  // The portal as it ships, but for mail, which goes to the SMTP server above instead of ./outbox.
  const plain = await startLatchkey(await freePort(), {
    LATCHKEY_SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
    LATCHKEY_MAIL_FROM: 'Latchkey <keys@example.com>',
    // The receiver listens on loopback, which customers' endpoints may reach only with this testing switch.
    LATCHKEY_WEBHOOKS_ALLOW_PRIVATE: 'true',
  });
  process.env.LATCHKEY_E2E_BASE_URL = plain.url;
  process.env.LATCHKEY_E2E_WORKDIR = plain.workdir;

  // The portal inside a provider's product: its brand, its OpenID Connect provider, its app's portal sessions.
  const [brandedPort, oidcPort, appPort] = [await freePort(), await freePort(), await freePort()];
  const branded = `http://127.0.0.1:${brandedPort}`;
  const issuer = `http://127.0.0.1:${oidcPort}`;
  const app = `http://127.0.0.1:${appPort}`;
  const oidc = await startReady(
    process.execPath,
    [path.join(__dirname, 'oidc-provider.mjs'), String(oidcPort), `${branded}/auth/oidc/callback`],
    path.join(plain.workdir, 'oidc-provider.log'),
    process.env,
  );
  const provider = await startLatchkey(brandedPort, {
    LATCHKEY_PRODUCT_NAME: 'Acme Cloud',
    LATCHKEY_PRODUCT_LOGO: path.join(__dirname, 'acme-logo.svg'),
    LATCHKEY_ACCENT_COLOR: '#0f766e',
    LATCHKEY_SUPPORT_URL: 'https://acme.example/support',
    LATCHKEY_DOCS_URL: 'https://acme.example/docs/api-keys',
    LATCHKEY_PORTAL_RETURN_ORIGINS: app,
    LATCHKEY_OIDC_ISSUER: issuer,
    LATCHKEY_OIDC_CLIENT_ID: 'latchkey',
    LATCHKEY_OIDC_CLIENT_SECRET: 'latchkey-e2e-client-secret',
    LATCHKEY_OIDC_SCOPES: 'openid email profile org',
    LATCHKEY_OIDC_NAME: 'Acme ID',
    LATCHKEY_OIDC_ORGANISATION_CLAIM: 'org',
    LATCHKEY_OIDC_ROLE_CLAIM: 'org_role',
  });
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('LATCHKEY_')));
  const token = execFileSync(binary, ['service-token', 'create', '--name', 'acme-app', '--permission', 'portal'], {
    cwd: provider.workdir,
    env: { ...env, LATCHKEY_LOG: 'warn' },
  })
    .toString()
    .trim();
  const appProcess = await startReady(
    process.execPath,
    [path.join(__dirname, 'provider-app.mjs'), String(appPort), branded, token],
    path.join(plain.workdir, 'provider-app.log'),
    process.env,
  );
  process.env.LATCHKEY_E2E_BRANDED_URL = branded;
  process.env.LATCHKEY_E2E_BRANDED_WORKDIR = provider.workdir;
  process.env.LATCHKEY_E2E_OIDC_URL = issuer;
  process.env.LATCHKEY_E2E_APP_URL = app;

  return async () => {
    for (const child of [appProcess, provider.child, oidc, plain.child, smtp, hooks]) await stop(child);
    if (process.env.LATCHKEY_E2E_KEEP !== '1') {
      for (const dir of [plain.workdir, provider.workdir, mailDir, hookDir]) rmSync(dir, { recursive: true, force: true });
    }
  };
}
