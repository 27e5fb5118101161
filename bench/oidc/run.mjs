// bench/oidc/run.mjs — driven by bench/oidc/run (which builds and installs what it needs).
// caducee and oidc-provider side by side, the same load generator (wrk) with the same
// requests, interleaved round by round; the RS256 signing ceiling of this machine measured in
// the same rounds; a markdown table with medians. See bench/README.md.

import { spawn, execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { PERSONAS, eventually, freePort, run, sleep, startStack } from '../../tests/js/lib/stack.js';
import { BenchClient, basic, signaturesIn } from './tokens.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '../..');
const env = process.env;
const DURATION = Number(env.DURATION || 10);
const WARMUP = Number(env.WARMUP || 2);
const RUNS = Number(env.RUNS || 3);
const CONNECTIONS = Number(env.CONNECTIONS || 32);
const THREADS = Number(env.THREADS || 2);
const RSA_SECONDS = Number(env.RSA_SECONDS || 3);
const PG = env.BENCH_POSTGRES !== '0';
const PG_BASE = (env.BENCH_POSTGRES_URL || 'postgres://postgres@127.0.0.1:5432').replace(/^(postgres(?:ql)?:\/\/[^/?]*).*$/, '$1');
const CLUSTER = env.BENCH_CLUSTER !== '0';
const REDIS_URL = env.BENCH_REDIS_URL || 'redis://127.0.0.1:6379/0';
const BIN = env.CADUCEE_BIN;
const RSA_SIGN = env.RSA_SIGN_BIN;
const WORK = env.BENCH_DIR || fs.mkdtempSync(path.join(os.tmpdir(), 'caducee-bench-oidc-'));
const ONLY = env.BENCH_TARGETS ? new Set(env.BENCH_TARGETS.split(',')) : undefined;
const want = (label) => !ONLY || ONLY.has(label);
const METRICS = (env.BENCH_METRICS || 'client_credentials,refresh,userinfo,introspection').split(',');
const RESOURCE = 'urn:caducee:bench';
const peerRequire = createRequire(path.join(HERE, 'peer', 'package.json'));
// BENCH_PERF=1: `perf record -g` on the server during each measured run, the profiles kept in
// the work directory (perf-<target>-<metric>-<round>.data) for `perf report -i`.
const PERF = env.BENCH_PERF === '1';
const SECRET = `bench-${crypto.randomBytes(16).toString('hex')}`;

const log = (...a) => console.error('[bench/oidc]', ...a);
const median = (xs) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!s.length) return NaN;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

// ------------------------------------------------------------------------------ targets
// A target: a running server with a BenchClient, a label, and its process tree's root pid.

async function startCaducee(label, databaseUrl) {
  const stack = await startStack({
    bin: BIN, name: `bench-${label}`, demo: true, notifications: false, databaseUrl,
    // PostgreSQL (several nodes possible) needs the instance secret that encrypts the keys.
    env: { CADUCEE_LOG: env.CADUCEE_LOG || 'warn', CADUCEE_INSTANCE_SECRET: crypto.randomBytes(32).toString('hex') },
  });
  await stack.addClient({
    id: 'bench', name: 'Benchmark', secret: SECRET, redirectUris: ['http://127.0.0.1:9/cb'],
    grants: ['authorization_code', 'refresh_token', 'client_credentials'],
  });
  const phone = await stack.activate(PERSONAS.julie);
  const client = await new BenchClient({
    kind: 'caducee', issuer: stack.issuer, clientId: 'bench', secret: SECRET, identifier: PERSONAS.julie.rpps, phone,
  }).discover();
  const stop = async () => {
    await stack.stop();
    if (databaseUrl) {
      await run('psql', [`${PG_BASE}/postgres`, '-X', '-q', '-c', `DROP DATABASE IF EXISTS ${databaseUrl.split('/').pop()} WITH (FORCE)`]);
    }
  };
  return { label, kind: 'caducee', client, pid: stack.child.pid, stop, stack };
}

async function startPeer(label, { workers = 1, redis } = {}) {
  const keyFile = path.join(WORK, 'peer-rsa.jwk.json');
  if (!fs.existsSync(keyFile)) {
    const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
    fs.writeFileSync(keyFile, JSON.stringify({ ...privateKey.export({ format: 'jwk' }), kid: 'bench-rs256' }), { mode: 0o600 });
  }
  const port = await freePort();
  const logFile = path.join(WORK, `${label}.log`);
  const out = fs.openSync(logFile, 'a');
  const prefix = `caducee-bench-oidc-${process.pid}-${label}:`;
  const child = spawn(process.execPath, [path.join(HERE, 'peer', 'server.js')], {
    cwd: path.join(HERE, 'peer'),
    stdio: ['ignore', out, out],
    env: {
      ...process.env, NODE_ENV: 'production', PORT: String(port), KEY_FILE: keyFile, CLIENT_SECRET: SECRET,
      WORKERS: String(workers), ...(redis ? { REDIS_URL: redis, REDIS_PREFIX: prefix } : {}),
    },
  });
  fs.closeSync(out);
  const issuer = `http://127.0.0.1:${port}`;
  await eventually(`${label} on ${issuer}`, async () => {
    if (child.exitCode !== null) throw new Error(`${label} exited: ${fs.readFileSync(logFile, 'utf8')}`);
    const r = await fetch(`${issuer}/.well-known/openid-configuration`).catch(() => undefined);
    if (!r || r.status !== 200) return undefined;
    if (workers > 1) return fs.readFileSync(logFile, 'utf8').includes('cluster of') || undefined;
    return true;
  }, { timeoutMs: 30_000 });
  const client = await new BenchClient({ kind: 'peer', issuer, clientId: 'bench', secret: SECRET, resource: RESOURCE }).discover();
  return {
    label, kind: 'peer', client, pid: child.pid,
    stop: async () => {
      child.kill('SIGTERM');
      await Promise.race([new Promise((r) => child.once('exit', r)), sleep(3000)]);
      if (child.exitCode === null) child.kill('SIGKILL');
      if (redis) await redisCleanup(redis, prefix);
    },
  };
}

async function redisCleanup(url, prefix) {
  try {
    const { Redis } = peerRequire('ioredis');
    const r = new Redis(url);
    let cursor = '0';
    do {
      const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await r.del(...keys);
    } while (cursor !== '0');
    await r.quit();
  } catch (e) {
    log(`redis cleanup of ${prefix}*: ${e.message}`);
  }
}

async function redisAnswers(url) {
  try {
    const { Redis } = peerRequire('ioredis');
    const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    await r.connect();
    const pong = await r.ping();
    await r.quit();
    return pong === 'PONG';
  } catch {
    return false;
  }
}

/** Peak resident memory (VmHWM) of a process and its descendants, in MB. */
function peakRssMb(pid) {
  const pids = [pid];
  for (let i = 0; i < pids.length; i++) {
    try {
      for (const t of fs.readdirSync(`/proc/${pids[i]}/task`)) {
        const kids = fs.readFileSync(`/proc/${pids[i]}/task/${t}/children`, 'utf8').trim();
        if (kids) pids.push(...kids.split(/\s+/).map(Number));
      }
    } catch { /* gone */ }
  }
  let kb = 0;
  for (const p of pids) {
    try {
      const m = fs.readFileSync(`/proc/${p}/status`, 'utf8').match(/^VmHWM:\s+(\d+)/m);
      if (m) kb += Number(m[1]);
    } catch { /* gone */ }
  }
  return { mb: kb / 1024, processes: pids.length };
}

// ------------------------------------------------------------------------------ load

async function wrk(url, { method, body, auth, mode = 'static', tokens, seconds }) {
  const out = path.join(WORK, `wrk-${crypto.randomBytes(4).toString('hex')}.json`);
  const r = await run('wrk', [`-t${THREADS}`, `-c${CONNECTIONS}`, `-d${seconds}s`, '--timeout', '10s', '-s', path.join(HERE, 'wrk.lua'), url], {
    env: {
      BENCH_METHOD: method, BENCH_BODY: body ?? '', BENCH_AUTH: auth ?? '', BENCH_MODE: mode,
      BENCH_TOKENS: tokens ?? '', BENCH_THREADS: String(THREADS), BENCH_OUT: out,
    },
    timeoutMs: (seconds + 60) * 1000,
  });
  if (r.code !== 0 || !fs.existsSync(out)) throw new Error(`wrk failed (${r.code}): ${r.stdout}\n${r.stderr}`);
  const s = JSON.parse(fs.readFileSync(out, 'utf8'));
  fs.rmSync(out);
  const secs = s.duration_us / 1e6;
  const errors = s.non2xx + s.connect + s.read + s.write + s.timeout;
  return { ...s, ok_per_s: (s.requests - s.non2xx) / secs, errors, error_rate: s.requests ? errors / s.requests : 1 };
}

/** The request of one metric against one target (and what must be prepared first). */
async function prepare(target, metric) {
  const c = target.client;
  const m = c.meta;
  const auth = basic(c.clientId, c.secret);
  switch (metric) {
    case 'client_credentials':
      return { url: m.token_endpoint, method: 'POST', body: 'grant_type=client_credentials', auth };
    case 'refresh': {
      // A few spare chains per thread: wrk generates one request more per thread than it sends.
      const tokens = await c.refreshTokens(CONNECTIONS + 4 * THREADS);
      const file = path.join(WORK, `rt-${target.label}-${crypto.randomBytes(4).toString('hex')}.txt`);
      fs.writeFileSync(file, `${tokens.join('\n')}\n`);
      return { url: m.token_endpoint, method: 'POST', auth, mode: 'refresh', tokens: file };
    }
    case 'userinfo':
      return { url: m.userinfo_endpoint, method: 'GET', auth: `Bearer ${await c.userAccessToken()}` };
    case 'introspection':
      return { url: m.introspection_endpoint, method: 'POST', body: `token=${await c.userAccessToken()}`, auth };
    default:
      throw new Error(`unknown metric ${metric}`);
  }
}

/** Checks one request of a metric by hand; returns {ok, why, signatures}. */
async function check(target, metric) {
  const c = target.client;
  let s;
  if (metric === 'refresh') {
    const [rt] = await c.refreshTokens(1);
    s = await c.sample('refresh', { token: rt });
  } else if (metric === 'userinfo' || metric === 'introspection') {
    s = await c.sample(metric, { token: await c.userAccessToken() });
  } else {
    s = await c.sample(metric);
  }
  if (s.status !== 200 || !s.json) return { ok: false, why: `${s.status} ${s.text.slice(0, 200)}` };
  if (metric === 'client_credentials' || metric === 'refresh') {
    if (!s.json.access_token) return { ok: false, why: `no access_token: ${s.text.slice(0, 200)}` };
    const header = JSON.parse(Buffer.from(s.json.access_token.split('.')[0], 'base64url').toString() || '{}');
    if (header.alg !== 'RS256') return { ok: false, why: `access token alg ${header.alg}, not RS256` };
    if (metric === 'refresh' && !s.json.refresh_token) return { ok: false, why: 'no rotated refresh_token' };
    return { ok: true, signatures: signaturesIn(s.json) };
  }
  if (metric === 'introspection' && s.json.active !== true) return { ok: false, why: `not active: ${s.text.slice(0, 200)}` };
  if (metric === 'userinfo' && !s.json.SubjectNameID) return { ok: false, why: `no SubjectNameID: ${s.text.slice(0, 200)}` };
  return { ok: true, bytes: s.text.length };
}

// ------------------------------------------------------------------------------ main

function machine() {
  const cpu = (fs.readFileSync('/proc/cpuinfo', 'utf8').match(/^model name\s*:\s*(.*)$/m) || [])[1] || os.cpus()[0]?.model || '?';
  return {
    nproc: os.availableParallelism?.() ?? os.cpus().length,
    cpu,
    ram_gb: (os.totalmem() / 2 ** 30).toFixed(1),
    kernel: `${os.type()} ${os.release()}`,
  };
}

function versions() {
  const v = {};
  try { v.caducee = execFileSync('git', ['-C', ROOT, 'describe', '--always', '--dirty'], { encoding: 'utf8' }).trim(); } catch { v.caducee = '?'; }
  v.node = process.version;
  v.oidcProvider = JSON.parse(fs.readFileSync(path.join(HERE, 'peer/node_modules/oidc-provider/package.json'), 'utf8')).version;
  let w = '';
  try { w = execFileSync('wrk', ['-v'], { encoding: 'utf8' }); } catch (e) { w = String(e.stdout || ''); }
  v.wrk = `wrk ${(w.match(/wrk\s+\S*?(\d+\.\d+\.\d+)/) || [])[1] || '?'}`;
  v.bin = path.relative(ROOT, BIN) || BIN;
  return v;
}

async function main() {
  if (!BIN || !fs.existsSync(BIN)) throw new Error('CADUCEE_BIN must name the release binary (bench/oidc/run builds it)');
  if (!RSA_SIGN || !fs.existsSync(RSA_SIGN)) throw new Error('RSA_SIGN_BIN must name the rsa-sign binary (bench/oidc/run builds it)');
  fs.mkdirSync(WORK, { recursive: true });
  const started = new Date();
  const load0 = os.loadavg();
  log(`work directory ${WORK}; ${RUNS} rounds of ${DURATION} s per metric (+${WARMUP} s warm-up), ${CONNECTIONS} connections, ${THREADS} wrk threads`);

  const targets = [];
  const stopAll = async () => { for (const t of targets) await t.stop().catch(() => {}); };
  process.on('SIGINT', async () => { await stopAll(); process.exit(130); });
  try {
    if (want('caducee-sqlite')) {
      log('starting caducee (SQLite)');
      targets.push(await startCaducee('caducee-sqlite'));
    }
    if (PG && want('caducee-postgres')) {
      const admin = `${PG_BASE}/postgres`;
      const r = await run('psql', [admin, '-X', '-q', '-v', 'ON_ERROR_STOP=1',
        '-c', 'DROP DATABASE IF EXISTS caducee_bench_oidc WITH (FORCE)', '-c', 'CREATE DATABASE caducee_bench_oidc']);
      if (r.code === 0) {
        log('starting caducee (PostgreSQL)');
        targets.push(await startCaducee('caducee-postgres', `${PG_BASE}/caducee_bench_oidc`));
      } else {
        log(`PostgreSQL at ${PG_BASE} unusable (${r.stderr.trim()}): skipped (BENCH_POSTGRES=0 to silence)`);
      }
    }
    if (want('peer-1')) {
      log('starting oidc-provider (1 process, its in-memory adapter)');
      targets.push(await startPeer('peer-1'));
    }
    if (CLUSTER && want('peer-cluster')) {
      if (await redisAnswers(REDIS_URL)) {
        log('starting oidc-provider (node:cluster of 2 workers, Redis adapter)');
        targets.push(await startPeer('peer-cluster', { workers: 2, redis: REDIS_URL }));
      } else {
        log(`Redis at ${REDIS_URL} does not answer: the 2-worker cluster (which needs shared state) is skipped`);
      }
    }

    // Each metric checked once by hand on each target (and its signatures counted).
    const checks = {};
    for (const t of targets) {
      checks[t.label] = {};
      for (const m of METRICS) {
        checks[t.label][m] = await check(t, m).catch((e) => ({ ok: false, why: e.message }));
        if (!checks[t.label][m].ok) log(`${t.label} ${m}: NOT measured: ${checks[t.label][m].why}`);
      }
    }

    const results = {}; // label → metric → [run…]
    const rsa = [];
    for (let round = 1; round <= RUNS; round++) {
      const r = await run(RSA_SIGN, [String(RSA_SECONDS)]);
      if (r.code !== 0) throw new Error(`rsa-sign: ${r.stderr}`);
      const sig = JSON.parse(r.stdout);
      rsa.push(sig.per_second);
      log(`round ${round}/${RUNS}: RS256 signatures on ${sig.threads} threads: ${Math.round(sig.per_second)}/s`);
      for (const m of METRICS) {
        for (const t of targets) {
          if (!checks[t.label][m].ok || t.broken) continue;
          try {
            if (WARMUP > 0) {
              const w = await prepare(t, m);
              await wrk(w.url, { ...w, seconds: WARMUP });
            }
            const p = await prepare(t, m);
            const perf = PERF ? spawn('perf', ['record', '-q', '-g', '-F', '499', '-p', String(t.pid),
              '-o', path.join(WORK, `perf-${t.label}-${m}-${round}.data`), '--', 'sleep', String(DURATION)],
            { stdio: 'ignore' }) : undefined;
            const res = await wrk(p.url, { ...p, seconds: DURATION });
            if (perf) await new Promise((resolve) => (perf.exitCode !== null ? resolve() : perf.on('exit', resolve)));
            ((results[t.label] ??= {})[m] ??= []).push(res);
            log(`  ${m.padEnd(18)} ${t.label.padEnd(17)} ${Math.round(res.ok_per_s).toString().padStart(6)}/s  p99 ${(res.p99_us / 1000).toFixed(1)} ms${res.errors ? `  (${res.errors} errors of ${res.requests})` : ''}`);
          } catch (e) {
            // A server that stops answering is reported, and left out of the next measurements.
            t.broken = `${m}, round ${round}: ${String(e.cause?.message ?? e.message).split('\n')[0].slice(0, 160)}`;
            log(`  ${m.padEnd(18)} ${t.label.padEnd(17)} FAILED: ${t.broken}`);
          }
        }
      }
    }
    const rss = Object.fromEntries(targets.map((t) => [t.label, peakRssMb(t.pid)]));
    const report = render({ started, load0, targets, checks, results, rsa, rss });
    fs.writeFileSync(path.join(WORK, 'results.md'), report);
    fs.writeFileSync(path.join(WORK, 'results.json'), JSON.stringify({ machine: machine(), versions: versions(), checks, results, rsa, rss }, null, 2));
    console.log(report);
    log(`results: ${path.join(WORK, 'results.md')} and results.json`);
    process.exitCode = env.BENCH_ENFORCE === '1' && report.includes('✘') ? 1 : 0;
  } finally {
    await stopAll();
  }
}

function render({ started, load0, targets, checks, results, rsa, rss }) {
  const mach = machine();
  const v = versions();
  const limit = median(rsa);
  const med = (label, m, f) => median((results[label]?.[m] ?? []).map(f));
  const rate = (label, m) => med(label, m, (r) => r.ok_per_s);
  const p99 = (label, m) => med(label, m, (r) => r.p99_us / 1000);
  const errs = (label, m) => Math.max(0, ...(results[label]?.[m] ?? []).map((r) => r.error_rate));
  const fmt = (x) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '–');
  const names = {
    'caducee-sqlite': 'caducee (SQLite)',
    'caducee-postgres': 'caducee (PostgreSQL)',
    'peer-1': 'oidc-provider, 1 process',
    'peer-cluster': 'oidc-provider, 2-worker cluster',
  };
  const mnames = {
    client_credentials: 'client_credentials grants/s',
    refresh: 'refresh grants/s (rotation)',
    userinfo: 'userinfo req/s',
    introspection: 'introspection req/s',
  };
  const lines = [];
  const load1 = os.loadavg();
  lines.push(`## OpenID provider benchmark — ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC`, '');
  lines.push(`Machine: ${mach.nproc} cores, ${mach.cpu}, ${mach.ram_gb} GB RAM — ${mach.kernel}; load average ${load0.map((x) => x.toFixed(2)).join(' ')} before, ${load1.map((x) => x.toFixed(2)).join(' ')} after`);
  lines.push(`caducee ${v.caducee} (${v.bin}); oidc-provider ${v.oidcProvider} on Node ${v.node}; load generator ${v.wrk} (${THREADS} threads, ${CONNECTIONS} connections), ${DURATION} s per run after ${WARMUP} s of warm-up; medians of ${RUNS} interleaved rounds`);
  lines.push('');
  lines.push(`RS256 (RSA-2048) signatures/s on all ${mach.nproc} cores with aws-lc-rs (bench/oidc/rsa-sign, the ceiling of any grant that signs): **${fmt(limit)}** (rounds: ${rsa.map(fmt).join(', ')})`);
  lines.push('');
  lines.push(`| metric | ${targets.map((t) => names[t.label]).join(' | ')} |`);
  lines.push(`|---|${targets.map(() => '---:').join('|')}|`);
  for (const m of METRICS) {
    const cells = targets.map((t) => {
      const c = checks[t.label][m];
      if (!c.ok) return `n/a (${c.why.replace(/\|/g, '/').slice(0, 80)})`;
      const e = errs(t.label, m);
      return `${fmt(rate(t.label, m))} (p99 ${p99(t.label, m).toFixed(1)} ms)${e > 0.001 ? ` ⚠ ${(e * 100).toFixed(1)}% errors` : ''}`;
    });
    lines.push(`| ${mnames[m]} | ${cells.join(' | ')} |`);
  }
  lines.push(`| signatures per grant (cc / refresh) | ${targets.map((t) => `${checks[t.label].client_credentials?.signatures ?? '–'} / ${checks[t.label].refresh?.signatures ?? '–'}`).join(' | ')} |`);
  lines.push(`| peak RSS of the server, MB | ${targets.map((t) => `${rss[t.label].mb.toFixed(0)}${rss[t.label].processes > 1 ? ` (${rss[t.label].processes} processes)` : ''}`).join(' | ')} |`);
  lines.push('');
  for (const t of targets.filter((x) => x.broken)) {
    lines.push(`⚠ **${names[t.label]} stopped answering** and was left out of the measurements after: ${t.broken}`, '');
  }

  // Targets (issue 5), for each caducee column.
  const peer1 = (m) => rate('peer-1', m);
  const peerC = (m) => rate('peer-cluster', m);
  const mark = (ok) => (ok === undefined ? '–' : ok ? '✔' : '✘');
  lines.push('### Targets', '');
  const cad = targets.filter((t) => t.kind === 'caducee');
  lines.push(`| target | ${cad.map((t) => names[t.label]).join(' | ')} |`);
  lines.push(`|---|${cad.map(() => ':---:').join('|')}|`);
  const row = (what, f) => lines.push(`| ${what} | ${cad.map((t) => f(t.label)).join(' | ')} |`);
  for (const m of ['client_credentials', 'refresh'].filter((x) => METRICS.includes(x))) {
    row(`${m}: ≥ 70 % of the signing ceiling per signature`, (l) => {
      const sigs = checks[l][m]?.signatures;
      const r = rate(l, m);
      if (!sigs || !Number.isFinite(r)) return '–';
      const need = (0.7 * limit) / sigs;
      return `${mark(r >= need)} ${fmt(r)} vs ${fmt(need)} (${((r * sigs * 100) / limit).toFixed(0)} % of ${fmt(limit)}/${sigs})`;
    });
    row(`${m}: ≥ 2× oidc-provider (1 process)`, (l) => {
      const r = rate(l, m); const p = peer1(m);
      return Number.isFinite(r) && Number.isFinite(p) ? `${mark(r >= 2 * p)} ${(r / p).toFixed(2)}×` : '–';
    });
    row(`${m}: ahead of the 2-worker cluster`, (l) => {
      const r = rate(l, m); const p = peerC(m);
      return Number.isFinite(r) && Number.isFinite(p) ? `${mark(r > p)} ${(r / p).toFixed(2)}×` : '–';
    });
  }
  for (const m of ['userinfo', 'introspection'].filter((x) => METRICS.includes(x))) {
    row(`${m}: ≥ 3× the peer (best of its two setups)`, (l) => {
      const r = rate(l, m); const p = Math.max(...[peer1(m), peerC(m)].filter(Number.isFinite));
      return Number.isFinite(r) && Number.isFinite(p) ? `${mark(r >= 3 * p)} ${(r / p).toFixed(2)}×` : '–';
    });
    row(`${m}: ≥ 10,000 req/s`, (l) => {
      const r = rate(l, m);
      return Number.isFinite(r) ? `${mark(r >= 10_000)} ${fmt(r)}` : '–';
    });
  }
  lines.push('');
  lines.push('Per run (req/s): ' + targets.map((t) => `${t.label}: ${METRICS.map((m) => `${m} ${(results[t.label]?.[m] ?? []).map((r) => fmt(r.ok_per_s)).join('/')}`).join(', ')}`).join('; '));
  lines.push('');
  return lines.join('\n');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
