// Bytes per page and time to interactive of the portal's first loads, measured in Chromium.
//
// Starts the release binary on a fresh SQLite database, signs up a customer (with one key and one webhook
// endpoint) and an operator (with one endpoint), then opens every portal page in a new browser context (an
// empty cache: a first load) and adds up what the DevTools protocol reports as received for each request
// (`Network.loadingFinished.encodedDataLength`: headers and body, compressed as served). Time to interactive
// is when the page marks itself hydrated (`<body data-hydrated="true">`), in milliseconds from the start of
// navigation, the median of WEIGHT_RUNS.
//
//   node end2end/weight/page-weight.mjs        (run by .ci/page-weight.sh, which builds the binary first)
//   WEIGHT_BINARY   the latchkey binary (target/release/latchkey)
//   WEIGHT_RUNS     loads per page for the time to interactive (3)
//   WEIGHT_ENCODING the Accept-Encoding to ask for (unset: Chromium's own, which includes br on loopback)
//   WEIGHT_JSON     also write the figures as JSON to this file
import { chromium } from '@playwright/test';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const binary = process.env.WEIGHT_BINARY ?? path.resolve(here, '../../target/release/latchkey');
const runs = Number.parseInt(process.env.WEIGHT_RUNS ?? '3', 10);
if (!Number.isInteger(runs) || runs < 1) throw new Error('WEIGHT_RUNS must be a whole number of at least 1');
const encoding = process.env.WEIGHT_ENCODING;
const PASSWORD = 'correct horse battery staple';
/** The budgets, in bytes: the sign-in page and every other page. */
const BUDGET = { '/sign-in': 150 * 1024, other: 250 * 1024 };

function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/** The environment without the caller's LATCHKEY_* settings: the server gets the shipped defaults. */
function cleanEnv(extra) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('LATCHKEY_')));
  return { ...env, ...extra };
}

async function startServer(workdir) {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(binary, ['serve'], {
    cwd: workdir,
    env: cleanEnv({ LATCHKEY_ADDR: `127.0.0.1:${port}`, LATCHKEY_LOG: 'warn', LATCHKEY_SIGN_UPS_PER_HOUR: '1000' }),
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`latchkey exited with ${child.exitCode} before it was ready`);
    try {
      if ((await fetch(`${url}/readyz`)).ok) return { url, child };
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  child.kill('SIGTERM');
  throw new Error(`latchkey did not become ready at ${url}`);
}

const launchOptions = {
  executablePath: process.env.LATCHKEY_CHROMIUM ?? '/usr/bin/chromium',
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
};

async function hydrated(page) {
  await page.locator('body[data-hydrated="true"]').waitFor({ state: 'attached', timeout: 30_000 });
}

/** Signs in through the form; answers the context's cookies and where sign-in landed. */
async function signIn(browser, url, email) {
  const context = await browser.newContext({ baseURL: url });
  const page = await context.newPage();
  await page.goto('/sign-in');
  await hydrated(page);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((address) => !address.pathname.startsWith('/sign-in'));
  await hydrated(page);
  const landed = new URL(page.url()).pathname;
  return { context, page, landed };
}

/** Registers a webhook endpoint for `target` on the Webhooks page at `route`, as a person would. */
async function addEndpoint(page, route, target) {
  await page.goto(route);
  await hydrated(page);
  await page.getByLabel('URL').fill(target);
  await page.getByRole('button', { name: 'Add endpoint' }).click();
  await page.getByTestId('new-key').waitFor();
}

/** The column a response's bytes count under. */
function kind(url, mime) {
  const pathname = new URL(url).pathname;
  if (pathname.endsWith('.wasm') || mime === 'application/wasm') return 'wasm';
  if (pathname.endsWith('.js') || mime.includes('javascript')) return 'js';
  if (pathname.endsWith('.css') || mime === 'text/css') return 'css';
  if (mime === 'text/html') return 'html';
  return 'other';
}

/** One first load of `route` with `storageState`'s cookies and an empty cache. */
async function load(browser, url, route, storageState) {
  const context = await browser.newContext({ baseURL: url, storageState });
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
  if (encoding) await cdp.send('Network.setExtraHTTPHeaders', { headers: { 'Accept-Encoding': encoding } });
  const requests = new Map();
  const bytes = { html: 0, js: 0, wasm: 0, css: 0, other: 0 };
  let count = 0;
  const failures = [];
  cdp.on('Network.responseReceived', ({ requestId, response }) => requests.set(requestId, kind(response.url, response.mimeType)));
  cdp.on('Network.loadingFinished', ({ requestId, encodedDataLength }) => {
    bytes[requests.get(requestId) ?? 'other'] += encodedDataLength;
    count += 1;
  });
  cdp.on('Network.loadingFailed', ({ requestId, errorText }) => failures.push(`${requests.get(requestId) ?? requestId}: ${errorText}`));
  await page.addInitScript(() => {
    new MutationObserver((_, observer) => {
      if (document.body?.dataset.hydrated === 'true') {
        window.__hydratedAt = performance.now();
        observer.disconnect();
      }
    }).observe(document, { attributes: true, subtree: true, attributeFilter: ['data-hydrated'] });
  });
  const response = await page.goto(route);
  if (!response || response.status() >= 400) throw new Error(`${route} answered ${response?.status()}`);
  const landed = new URL(page.url()).pathname;
  await hydrated(page);
  await page.waitForLoadState('networkidle');
  const interactive = await page.evaluate(() => window.__hydratedAt ?? null);
  await context.close();
  if (failures.length) throw new Error(`${route}: requests failed: ${failures.join(', ')}`);
  return { landed, bytes, count, interactive };
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

const kib = (n) => (n / 1024).toFixed(1);

async function main() {
  const workdir = mkdtempSync(path.join(tmpdir(), 'latchkey-weight-'));
  const { url, child } = await startServer(workdir);
  const browser = await chromium.launch(launchOptions);
  try {
    const customer = `weight-${Date.now()}@example.com`;
    const operator = `operator-${Date.now()}@example.com`;
    execFileSync(binary, ['account', 'create', '--email', operator, '--password-stdin', '--operator'], {
      cwd: workdir,
      env: cleanEnv({ LATCHKEY_LOG: 'warn' }),
      input: `${PASSWORD}\n`,
    });

    // The customer signs up and creates one key, so the key pages have something to show.
    const signUp = await browser.newContext({ baseURL: url });
    const page = await signUp.newPage();
    await page.goto('/sign-up');
    await hydrated(page);
    await page.getByLabel('Email').fill(customer);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign up' }).click();
    await page.waitForURL(/\/o\/[^/]+\/keys$/);
    await hydrated(page);
    const org = new URL(page.url()).pathname.split('/')[2];
    await page.goto(`/o/${org}/keys/new`);
    await hydrated(page);
    await page.getByLabel('Name').fill('Billing service');
    await page.getByLabel('orders:read').check();
    await page.getByRole('button', { name: 'Create key' }).click();
    await page.getByTestId('new-key').waitFor();
    await page.getByRole('link', { name: 'Key settings' }).click();
    await page.waitForURL(/\/keys\/[^/]+$/);
    const keyPath = new URL(page.url()).pathname;
    // And one webhook endpoint each, so that the Webhooks pages show one with its buttons.
    await addEndpoint(page, `/o/${org}/webhooks`, 'https://1.1.1.1/latchkey-weight');
    const customerState = await signUp.storageState();
    await signUp.close();
    const ops = await signIn(browser, url, operator);
    await addEndpoint(ops.page, '/operator/webhooks', 'http://10.0.0.1/latchkey-weight');
    const operatorState = await ops.context.storageState();
    await ops.context.close();

    const pages = [
      ['/sign-in', undefined],
      ['/sign-up', undefined],
      ['/forgot-password', undefined],
      [`/o/${org}/keys`, customerState],
      [`/o/${org}/keys/new`, customerState],
      [keyPath, customerState],
      [`/o/${org}/usage`, customerState],
      [`/o/${org}/activity`, customerState],
      [`/o/${org}/members`, customerState],
      [`/o/${org}/webhooks`, customerState],
      ['/organisations/new', customerState],
      ['/settings', customerState],
      ['/operator/usage', operatorState],
      ['/operator/organisations', operatorState],
      ['/operator/activity', operatorState],
      ['/operator/webhooks', operatorState],
      ['/operator/service-tokens', operatorState],
    ];
    const rows = [];
    for (const [route, state] of pages) {
      const loads = [];
      for (let run = 0; run < runs; run += 1) loads.push(await load(browser, url, route, state));
      const first = loads[0];
      if (first.landed !== route) throw new Error(`${route} redirected to ${first.landed}: the page was not measured`);
      const total = Object.values(first.bytes).reduce((a, b) => a + b, 0);
      const budget = route === '/sign-in' ? BUDGET['/sign-in'] : BUDGET.other;
      const shown = route === keyPath ? '/o/:org/keys/:id' : route.replace(org, ':org');
      rows.push({
        page: shown,
        requests: first.count,
        ...first.bytes,
        total,
        budget,
        interactive_ms: Math.round(median(loads.map((l) => l.interactive ?? Number.NaN))),
      });
    }

    const heading = `| page | requests | HTML KiB | JS KiB | wasm KiB | CSS KiB | other KiB | total KiB | budget KiB | interactive ms |`;
    console.log(`Chromium first loads, Accept-Encoding ${encoding ?? "Chromium's own"}, median of ${runs} for the time to interactive`);
    console.log(heading);
    console.log(heading.replace(/[^|]+/g, '---'));
    for (const r of rows) {
      const over = r.total > r.budget ? ' **over**' : '';
      console.log(
        `| ${r.page} | ${r.requests} | ${kib(r.html)} | ${kib(r.js)} | ${kib(r.wasm)} | ${kib(r.css)} | ${kib(r.other)} | ${kib(r.total)}${over} | ${kib(r.budget)} | ${r.interactive_ms} |`,
      );
    }
    const over = rows.filter((r) => r.total > r.budget).length;
    console.log(`${rows.length} pages, ${over} over budget`);
    if (process.env.WEIGHT_JSON) writeFileSync(process.env.WEIGHT_JSON, JSON.stringify({ encoding: encoding ?? null, rows }, null, 2));
  } finally {
    await browser.close();
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
    rmSync(workdir, { recursive: true, force: true });
  }
}

await main();
