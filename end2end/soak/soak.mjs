// The soak with faults (README: "Soak test"). Two `latchkey serve` instances on one PostgreSQL database behind
// a tiny round-robin proxy, rate limits shared through a Redis of the soak's own, and minutes of mixed load:
// verifications of many keys, with creates, rolls (without grace) and revokes among them. Halfway one
// instance is killed with SIGKILL and started again; earlier, Redis is stopped and started. Afterwards it
// checks what must hold and prints one summary line per check; it exits 1 when one fails.
//
//   node soak.mjs   (run.sh sets these:)
//   SOAK_BINARY, SOAK_DATABASE_URL (an empty PostgreSQL database), SOAK_SECONDS (300), SOAK_KEYS (200),
//   SOAK_CONCURRENCY (32), SOAK_DIR (a scratch directory)

import { spawn, execFileSync } from 'node:child_process';
import { readFileSync, mkdirSync, openSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';

const binary = process.env.SOAK_BINARY;
const databaseUrl = process.env.SOAK_DATABASE_URL;
const seconds = Number(process.env.SOAK_SECONDS ?? 300);
const keyCount = Number(process.env.SOAK_KEYS ?? 200);
const concurrency = Number(process.env.SOAK_CONCURRENCY ?? 32);
const dir = process.env.SOAK_DIR;
if (!binary || !databaseUrl || !dir) throw new Error('set SOAK_BINARY, SOAK_DATABASE_URL and SOAK_DIR (run.sh does)');
mkdirSync(dir, { recursive: true });

const REVOCATION_BOUND_MS = 2000; // the promise: revoked everywhere within 2 s
const FLUSH_INTERVAL_MS = 1000; // usage is written every second
const started = Date.now();
const since = () => ((Date.now() - started) / 1000).toFixed(1);
const log = (message) => console.log(`[${since()} s] ${message}`);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function env(extra) {
  return { PATH: process.env.PATH, LATCHKEY_DATABASE_URL: databaseUrl, LATCHKEY_LOG: 'warn', ...extra };
}

function cli(args) {
  return execFileSync(binary, args, { cwd: dir, env: env({}), encoding: 'utf8' }).trim();
}

async function waitUntil(check, what, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await sleep(100);
  }
  throw new Error(`${what} did not happen within ${timeoutMs / 1000} s`);
}

// --- Redis, of the soak's own so that stopping it disturbs nothing else -----------------------------------
const redisPort = await freePort();
let redis;
function startRedis() {
  redis = spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
}
async function redisUp() {
  return new Promise((resolve) => {
    const socket = net.connect(redisPort, '127.0.0.1', () => {
      socket.end();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

// --- The instances -------------------------------------------------------------------------------------
const instances = {};
async function startInstance(name) {
  const instance = instances[name] ?? { name, port: await freePort(), metrics: await freePort() };
  const logFile = openSync(path.join(dir, `${name}.log`), 'a');
  instance.child = spawn(binary, ['serve'], {
    cwd: dir,
    env: env({
      LATCHKEY_ADDR: `127.0.0.1:${instance.port}`,
      LATCHKEY_METRICS_ADDR: `127.0.0.1:${instance.metrics}`,
      LATCHKEY_REDIS_URL: `redis://127.0.0.1:${redisPort}`,
      LATCHKEY_MAX_KEYS_PER_ACCOUNT: '100000',
      LATCHKEY_UNAUTHORIZED_PER_MINUTE: '1000000',
    }),
    stdio: ['ignore', 'ignore', logFile],
  });
  instance.startedAt = Date.now();
  instances[name] = instance;
  await waitUntil(() => get(instance.port, '/healthz').then((r) => r.status === 200), `instance ${name} answering`);
  instance.readyAt = Date.now();
  return instance;
}

function rss(instance) {
  try {
    const status = readFileSync(`/proc/${instance.child.pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+) kB/.exec(status)[1]) * 1024;
  } catch {
    return null;
  }
}

// --- HTTP: a keep-alive client, and the proxy --------------------------------------------------------------
const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency * 2 });
function call(port, method, urlPath, body, headers = {}) {
  return new Promise((resolve) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const request = http.request(
      {
        host: '127.0.0.1', port, method, path: urlPath, agent,
        headers: { ...headers, ...(payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}) },
        timeout: 10_000,
      },
      (response) => {
        const chunks = [];
        response.on('data', (chunk) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode, headers: response.headers, body: Buffer.concat(chunks).toString() }));
        response.on('error', (error) => resolve({ status: 0, headers: {}, body: String(error) }));
      },
    );
    request.on('timeout', () => request.destroy(new Error('timed out')));
    request.on('error', (error) => resolve({ status: 0, headers: {}, body: String(error) }));
    if (payload) request.write(payload);
    request.end();
  });
}
const get = (port, urlPath) => call(port, 'GET', urlPath);

// Round robin over the instances; an instance that cannot be reached is answered 502 here, named in
// x-soak-backend like every answer, so the checks know which instance each answer came from.
const backendAgent = new http.Agent({ keepAlive: true, maxSockets: concurrency * 2 });
let turn = 0;
const proxy = http.createServer((request, response) => {
  const names = Object.keys(instances).sort();
  const name = names[turn++ % names.length];
  const backend = instances[name];
  const upstream = http.request(
    { host: '127.0.0.1', port: backend.port, method: request.method, path: request.url, headers: request.headers, agent: backendAgent },
    (answer) => {
      response.writeHead(answer.statusCode, { ...answer.headers, 'x-soak-backend': name });
      answer.pipe(response);
    },
  );
  upstream.on('error', () => {
    if (!response.headersSent) {
      response.writeHead(502, { 'content-type': 'text/plain', 'x-soak-backend': name });
      response.end('backend unreachable');
    } else {
      response.destroy();
    }
  });
  request.pipe(upstream);
});
const proxyPort = await freePort();
await new Promise((resolve) => proxy.listen(proxyPort, '127.0.0.1', resolve));

// --- Setting up ------------------------------------------------------------------------------------------
startRedis();
await waitUntil(redisUp, 'Redis answering');
cli(['migrate']);
const organisation = cli(['account', 'create', '--email', 'soak@example.com']);
const token = cli(['service-token', 'create', '--name', 'soak', '--permission', 'verify', '--permission', 'keys:read', '--permission', 'keys:write']);
const auth = { authorization: `Bearer ${token}` };
await startInstance('a');
await startInstance('b');
log(`instances a (:${instances.a.port}) and b (:${instances.b.port}) behind the proxy on :${proxyPort}; Redis on :${redisPort}`);

const keys = []; // { id, key, endedAt: ms or null }
async function createKey(n) {
  const limited = n % 2 === 0; // half the keys are rate limited, so Redis is on their path
  const answer = await call(proxyPort, 'POST', '/v1/keys', {
    organisation, name: `soak ${n}`, scopes: ['orders:read'],
    ...(limited ? { ratelimit: { limit: 1_000_000, window_seconds: 60 } } : {}),
  }, auth);
  if (answer.status !== 201) return answer;
  const created = JSON.parse(answer.body);
  keys.push({ id: created.id, key: created.key, endedAt: null });
  return answer;
}
for (let n = 0; n < keyCount; n++) {
  const answer = await createKey(n);
  if (answer.status !== 201) throw new Error(`creating a key: ${answer.status} ${answer.body}`);
}
log(`${keys.length} keys created`);

// --- The load ----------------------------------------------------------------------------------------------
const verifications = []; // [sentAt, answeredAt, status, backend, code, keyIndex or -1]
const failures = []; // answers ≥ 500 or no answer, from any operation: [at, status, backend, what]
const ops = { create: 0, roll: 0, revoke: 0 };
let stop = false;
const end = started + seconds * 1000;
const pick = () => keys[Math.floor(Math.random() * keys.length)];
const live = () => {
  for (let i = 0; i < 20; i++) {
    const key = pick();
    if (key.endedAt === null) return key;
  }
  return null;
};

async function worker() {
  let n = 0;
  while (!stop) {
    const roll = Math.random();
    if (roll < 0.92) {
      // Mostly live keys, as a real service sees; the rest of any age, ended ones included.
      let index = Math.floor(Math.random() * keys.length);
      for (let tries = 0; Math.random() < 0.7 && keys[index].endedAt !== null && tries < 20; tries++) {
        index = Math.floor(Math.random() * keys.length);
      }
      const key = keys[index];
      const sentAt = Date.now();
      const answer = await call(proxyPort, 'POST', '/v1/keys/verify', { key: key.key, scopes: ['orders:read'] }, auth);
      const answeredAt = Date.now();
      const backend = answer.headers['x-soak-backend'] ?? '?';
      let code = null;
      if (answer.status === 200) code = JSON.parse(answer.body).code;
      else failures.push([answeredAt, answer.status, backend, 'verify']);
      verifications.push([sentAt, answeredAt, answer.status, backend, code, index]);
    } else if (roll < 0.95) {
      const answer = await createKey(`w${n}`);
      if (answer.status === 201) ops.create++;
      else if (answer.status >= 500 || answer.status === 0) failures.push([Date.now(), answer.status, answer.headers['x-soak-backend'] ?? '?', 'create']);
    } else if (roll < 0.97) {
      const key = live();
      if (!key) continue;
      const answer = await call(proxyPort, 'POST', `/v1/keys/${key.id}/roll`, { grace_seconds: 0 }, auth);
      if (answer.status === 201) {
        key.endedAt ??= Date.now();
        const created = JSON.parse(answer.body);
        keys.push({ id: created.id, key: created.key, endedAt: null });
        ops.roll++;
      } else if (answer.status >= 500 || answer.status === 0) failures.push([Date.now(), answer.status, answer.headers['x-soak-backend'] ?? '?', 'roll']);
    } else {
      const key = live();
      if (!key) continue;
      const answer = await call(proxyPort, 'POST', `/v1/keys/${key.id}/revoke`, undefined, auth);
      if (answer.status === 200) {
        key.endedAt ??= Date.now();
        ops.revoke++;
      } else if (answer.status >= 500 || answer.status === 0) failures.push([Date.now(), answer.status, answer.headers['x-soak-backend'] ?? '?', 'revoke']);
    }
    n++;
  }
}

const memory = { a: [], b: [] }; // [at, bytes, instance start]
const sampler = setInterval(() => {
  for (const name of ['a', 'b']) {
    const bytes = rss(instances[name]);
    if (bytes) memory[name].push([Date.now(), bytes, instances[name].startedAt]);
  }
}, 5000);

// The usage flushes of one instance, from its /metrics: how many, how long, how many failed.
const flushes = {};
async function flushStats(name) {
  const answer = await get(instances[name].metrics, '/metrics');
  if (answer.status !== 200) return;
  const value = (pattern) => Number(new RegExp(`^${pattern} (\\S+)$`, 'm').exec(answer.body)?.[1] ?? NaN);
  const count = value('latchkey_usage_flush_duration_seconds_count');
  const bucket = (le) => value(`latchkey_usage_flush_duration_seconds_bucket\\{le="${le}"\\}`);
  flushes[name] = {
    count,
    meanMs: (value('latchkey_usage_flush_duration_seconds_sum') / count) * 1000,
    over100ms: count - bucket('0.1'),
    over500ms: count - bucket('0.5'),
    failed: value('latchkey_usage_flush_failures_total'),
    folds: value('latchkey_usage_fold_duration_seconds_count'),
    foldMeanMs: (value('latchkey_usage_fold_duration_seconds_sum') / value('latchkey_usage_fold_duration_seconds_count')) * 1000,
    foldsFailed: value('latchkey_usage_fold_failures_total'),
  };
}

const events = {};
async function faults() {
  await sleep(Math.max(0, started + seconds * 300 - Date.now()));
  events.redisStopped = Date.now();
  redis.kill('SIGKILL');
  log('Redis stopped');
  await sleep(20_000);
  startRedis();
  await waitUntil(redisUp, 'Redis answering again');
  events.redisStarted = Date.now();
  log('Redis started again');
  await sleep(Math.max(0, started + seconds * 500 - Date.now()));
  await flushStats('a');
  events.killedAt = Date.now();
  instances.a.child.kill('SIGKILL');
  log('instance a killed with SIGKILL');
  await sleep(3000);
  await startInstance('a');
  events.restartedAt = instances.a.readyAt;
  log(`instance a answering again after ${((events.restartedAt - events.killedAt) / 1000).toFixed(1)} s`);
}

log(`${concurrency} workers for ${seconds} s`);
const workers = Array.from({ length: concurrency }, worker);
const faulting = faults();
const progress = setInterval(() => log(`${verifications.length} verifications, ${ops.create} creates, ${ops.roll} rolls, ${ops.revoke} revokes`), 30_000);
await sleep(Math.max(0, end - Date.now()));
stop = true;
await Promise.all(workers);
await faulting;
clearInterval(progress);
clearInterval(sampler);

await flushStats('b');
// Both instances stop gracefully: their last counts are written.
for (const name of ['a', 'b']) {
  const child = instances[name].child;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}
proxy.close();
agent.destroy();
backendAgent.destroy();
redis.kill('SIGKILL');

// --- The checks ----------------------------------------------------------------------------------------------
const results = [];
const check = (ok, line) => results.push([ok, line]);
const total = verifications.length;
const answered = verifications.filter((v) => v[2] === 200);
const rate = (total / seconds).toFixed(0);
console.log();
console.log(`soak: ${seconds} s, ${keys.length} keys in the end, ${total} verifications (${rate}/s through the proxy), ` +
  `${ops.create} creates, ${ops.roll} rolls without grace, ${ops.revoke} revokes; ` +
  `codes: ${JSON.stringify(Object.fromEntries(Object.entries(answered.reduce((m, v) => ((m[v[4]] = (m[v[4]] ?? 0) + 1), m), {})).sort()))}`);

// 1. No VALID for a verification asked more than 2 s after its key's revoke (or roll without grace)
// returned. (One asked before may still be answered VALID: it was under way when the key ended.)
let late = 0;
let latest = -Infinity;
for (const [sentAt, , status, , code, index] of verifications) {
  const endedAt = keys[index].endedAt;
  if (status !== 200 || code !== 'VALID' || endedAt === null) continue;
  latest = Math.max(latest, sentAt - endedAt);
  if (sentAt > endedAt + REVOCATION_BOUND_MS) late++;
}
const ended = keys.filter((k) => k.endedAt !== null).length;
check(late === 0, `revocation: ${late} VALID answers later than ${REVOCATION_BOUND_MS} ms after a revoke or roll returned ` +
  `(${ended} keys ended; latest VALID after its key ended: ${latest === -Infinity ? 'none' : `${latest} ms`})`);

// 2. Usage in the database equals the verifications acknowledged, but for at most one flush interval of the
// killed instance (counts it held in memory when it died).
const acknowledged = answered.filter((v) => !['MALFORMED', 'NOT_FOUND'].includes(v[4])).length;
const atRisk = answered.filter((v) => v[3] === 'a' && v[1] <= events.killedAt && v[1] > events.killedAt - FLUSH_INTERVAL_MS * 1.5).length;
const stored = Number(execFileSync('psql', ['-tAq', '-d', databaseUrl, '-c', 'SELECT COALESCE(SUM(count), 0) FROM key_usage'], { encoding: 'utf8' }).trim());
const lost = acknowledged - stored;
check(lost >= 0 && lost <= atRisk, `usage: ${stored} counted in the database of ${acknowledged} acknowledged; ` +
  `${lost} missing, at most ${atRisk} allowed (instance a's answers in the last flush interval before SIGKILL)`);

// 3. No 5xx, and no request without an answer, except from the killed instance while it was down.
const down = (at, backend) => backend === 'a' && at >= events.killedAt && at <= events.restartedAt + 1000;
const bad = failures.filter(([at, status, backend]) => !(status >= 500 || status === 0) || !down(at, backend));
const excused = failures.length - bad.length;
check(bad.length === 0, `errors: ${bad.length} 5xx or unanswered outside instance a's downtime ` +
  `(${excused} while it was down for ${((events.restartedAt - events.killedAt) / 1000).toFixed(1)} s)` +
  (bad.length ? `; first: ${JSON.stringify(bad.slice(0, 5))}` : ''));

// 4. Memory flat after warm-up: the last third of the samples no higher than 1.25× the first after warm-up.
for (const name of ['a', 'b']) {
  const lastStart = Math.max(...memory[name].map((s) => s[2]));
  const samples = memory[name].filter((s) => s[2] === lastStart && s[0] >= lastStart + 30_000).map((s) => s[1]);
  if (samples.length < 6) {
    check(true, `memory ${name}: ${samples.length} samples after warm-up, too few to judge`);
    continue;
  }
  const third = Math.max(1, Math.floor(samples.length / 3));
  const early = Math.max(...samples.slice(0, third));
  const lateMax = Math.max(...samples.slice(-third));
  const mib = (b) => (b / 1048576).toFixed(1);
  check(lateMax <= early * 1.25, `memory ${name}: RSS ${mib(early)} MiB after warm-up, ${mib(lateMax)} MiB at the end ` +
    `(${(lateMax / early).toFixed(2)}x, at most 1.25x; ${samples.length} samples${name === 'a' ? ' since the restart' : ''})`);
}

for (const [name, f] of Object.entries(flushes)) {
  console.log(`usage of ${name}${name === 'a' ? ' until it was killed' : ''}: ${f.count} stagings, ` +
    `${f.meanMs.toFixed(1)} ms on average, ${f.over100ms} over 100 ms, ${f.over500ms} over 500 ms, ${f.failed} failed; ` +
    `${f.folds} folds, ${f.foldMeanMs.toFixed(1)} ms on average, ${f.foldsFailed} failed`);
}
console.log();
for (const [ok, line] of results) console.log(`${ok ? 'PASS' : 'FAIL'} ${line}`);
process.exit(results.every(([ok]) => ok) ? 0 : 1);
