// A running caducee for the JS tests: `caducee serve --demo` on a free port with a fresh
// SQLite database in a temporary directory, its e-mails delivered to the real SMTP server of
// the notify tests (crates/notify/tests/smtp_sink.py, Python aiosmtpd) and its SMS to an HTTP
// gateway played by this process. Helpers run the CLI against the same database
// (`caducee client add …`) and play the professional's phone (`caducee ecps …`).
//
// Only Node built-ins: bench/oidc reuses this module without installing anything.

import { spawn, execFile } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** The binary under test: CADUCEE_BIN (set by scripts/test), else target/debug/caducee. */
export function caduceeBin() {
  const bin = process.env.CADUCEE_BIN
    || path.join(process.env.CARGO_TARGET_DIR ? path.resolve(ROOT, process.env.CARGO_TARGET_DIR) : path.join(ROOT, 'target'), 'debug', 'caducee');
  if (!fs.existsSync(bin)) {
    throw new Error(`caducee binary not found at ${bin}: run 'cargo build -p caducee' or set CADUCEE_BIN`);
  }
  return bin;
}

/** The demo personas of `serve --demo` (README). */
export const PERSONAS = {
  julie: { rpps: '19999900012', idnat: '819999900012', firstName: 'Julie', lastName: 'Martin', email: 'julie.martin@example.test', mobile: '+33612345601' },
  thomas: { rpps: '19999900020', idnat: '819999900020', firstName: 'Thomas', lastName: 'Bernard', email: 'thomas.bernard@example.test', mobile: '+33612345602' },
  helene: { rpps: '19999900038', idnat: '819999900038', firstName: 'Hélène', lastName: 'Dubois', email: 'helene.dubois@example.test', mobile: '+33612345603' },
  jerome: { rpps: '19999900046', idnat: '819999900046', firstName: 'Jérôme', lastName: 'Petit', email: 'jerome.petit@example.test', mobile: '+33612345604' },
  camille: { rpps: '19999900053', idnat: '819999900053', firstName: 'Camille', lastName: 'Leroy', email: 'camille.leroy@example.test', mobile: '+33612345605' },
};

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A port nobody listens on right now (bound then released by this process). */
export async function freePort() {
  const srv = net.createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const { port } = srv.address();
  await new Promise((r) => srv.close(r));
  return port;
}

/** Polls `probe` (async, returns a value or undefined) until it gives something. */
export async function eventually(what, probe, { timeoutMs = 30_000, everyMs = 100 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let lastError;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== null && v !== false) return v;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${lastError.message}` : ''}`);
    }
    await sleep(everyMs);
  }
}

/** Runs a command; resolves {code, stdout, stderr} (never rejects on a non-zero exit). */
export function run(cmd, args, { env, timeoutMs = 120_000, cwd } = {}) {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { env: { ...process.env, ...env }, timeout: timeoutMs, maxBuffer: 64 << 20, cwd },
      (err, stdout, stderr) => {
        if (err && typeof err.code !== 'number') {
          if (err.killed) { resolve({ code: null, stdout, stderr: `${stderr}\n(killed after ${timeoutMs} ms)` }); return; }
          reject(err);
          return;
        }
        resolve({ code: err ? err.code : 0, stdout, stderr });
      });
  });
}

function tail(file, lines = 40) {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

// ------------------------------------------------------------------ SMTP server (Python)

/** The real SMTP server of the notify tests; every accepted message is a .eml file. */
export class SmtpSink {
  static async start(dir) {
    const script = path.join(ROOT, 'crates/notify/tests/smtp_sink.py');
    const mailDir = path.join(dir, 'mail');
    for (let attempt = 0; ; attempt++) {
      const port = await freePort();
      const child = spawn('python3', [script, String(port), mailDir], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d) => { out += d; });
      child.stderr.on('data', (d) => { out += d; });
      const ok = await eventually('the SMTP sink', () => {
        if (out.includes('listening')) return true;
        if (child.exitCode !== null) return 'exited';
        return undefined;
      }, { timeoutMs: 20_000 }).catch((e) => e);
      if (ok === true) return new SmtpSink(child, port, mailDir);
      child.kill('SIGKILL');
      if (attempt >= 3) throw new Error(`SMTP sink did not start (python3 ${script}; needs aiosmtpd): ${out}`);
    }
  }

  constructor(child, port, dir) {
    this.child = child;
    this.port = port;
    this.dir = dir;
    this.url = `smtp://127.0.0.1:${port}`;
    this.seen = new Set();
  }

  /** The first message received and not taken before for which `pred(raw)` holds (taken now). */
  take(pred) {
    let names = [];
    try { names = fs.readdirSync(this.dir).filter((n) => n.endsWith('.eml')).sort(); } catch { /* none yet */ }
    for (const n of names) {
      if (this.seen.has(n)) continue;
      const raw = fs.readFileSync(path.join(this.dir, n), 'utf8');
      if (pred(raw)) {
        this.seen.add(n);
        return raw;
      }
    }
    return undefined;
  }

  async stop() {
    if (this.child.exitCode === null) {
      this.child.kill('SIGTERM');
      await Promise.race([once(this.child, 'exit'), sleep(3000)]);
      if (this.child.exitCode === null) this.child.kill('SIGKILL');
    }
  }
}

// ------------------------------------------------------------------ SMS gateway (HTTP)

/** An SMS gateway: records every `POST {"to","text"}` and answers 202. */
export class SmsGateway {
  static async start() {
    const gw = new SmsGateway();
    gw.server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d) => { body += d; });
      req.on('end', () => {
        if (req.method !== 'POST') { res.writeHead(405).end(); return; }
        try {
          gw.messages.push(JSON.parse(body));
          res.writeHead(202, { 'content-type': 'application/json' }).end('{"status":"queued"}');
        } catch {
          res.writeHead(400).end();
        }
      });
    });
    gw.server.listen(0, '127.0.0.1');
    await once(gw.server, 'listening');
    gw.url = `http://127.0.0.1:${gw.server.address().port}/sms`;
    return gw;
  }

  constructor() {
    this.messages = [];
    this.taken = new Set();
  }

  /** The first SMS received and not taken before for which `pred(msg)` holds (taken now). */
  take(pred) {
    const i = this.messages.findIndex((m, k) => !this.taken.has(k) && pred(m));
    if (i < 0) return undefined;
    this.taken.add(i);
    return this.messages[i];
  }

  async stop() {
    this.server.closeAllConnections?.();
    await new Promise((r) => this.server.close(r));
  }
}

/** The 6-digit activation code of an e-mail: the line of the text part that holds only it. */
export function codeInEmail(raw) {
  for (const line of raw.split(/\r?\n/)) {
    const l = line.trim();
    if (/^\d{6}$/.test(l)) return l;
  }
  return undefined;
}

/** The first run of exactly six digits in an SMS text. */
export function codeInSms(text) {
  return text.split(/\D+/).find((run) => run.length === 6);
}

// ------------------------------------------------------------------ caducee

/**
 * Starts the whole stack. Options:
 *   demo (true): `serve --demo`;
 *   notifications (true): real SMTP server and SMS gateway (else demo mode keeps the
 *     messages on /dev/outbox);
 *   env: extra environment for the server;
 *   bin: the binary (default caduceeBin()); databaseUrl (default: SQLite in the temporary dir);
 *   config: text of a caducee.toml for the server and the CLI.
 */
export async function startStack({ demo = true, notifications = true, env = {}, name = 'stack', bin = caduceeBin(), databaseUrl, config, host = '127.0.0.1' } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `caducee-js-${name}-`));
  // The server and the CLI run in `dir`, where they read ./caducee.toml.
  if (config) fs.writeFileSync(path.join(dir, 'caducee.toml'), config);
  databaseUrl ??= `sqlite://${path.join(dir, 'caducee.db')}`;
  const smtp = notifications ? await SmtpSink.start(dir) : undefined;
  const sms = notifications ? await SmsGateway.start() : undefined;
  const logFile = path.join(dir, 'caducee.log');

  let child;
  let base;
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    // `host: 'localhost'` for WebAuthn, whose relying party id cannot be an IP address.
    base = `http://${host}:${port}`;
    const log = fs.openSync(logFile, 'a');
    const args = ['serve', '--database-url', databaseUrl, '--listen', `127.0.0.1:${port}`];
    if (demo) args.push('--demo');
    child = spawn(bin, args, {
      cwd: dir,
      stdio: ['ignore', log, log],
      env: {
        ...process.env,
        CADUCEE_PUBLIC_URL: base,
        CADUCEE_LOG: process.env.CADUCEE_LOG || 'info,sqlx=warn',
        // Every test logs in from 127.0.0.1 with a fresh browser: one address typing
        // many identifiers, as a hospital behind one address does (the setting exists for
        // them); the per-source limit itself is tested in crates/idp/tests/browser/abuse.rs.
        CADUCEE_IDP__LOGIN_ATTEMPTS_PER_SOURCE: '1000',
        ...(smtp ? { CADUCEE_SMTP_URL: smtp.url } : {}),
        ...(sms ? { CADUCEE_SMS_URL: sms.url } : {}),
        ...env,
      },
    });
    fs.closeSync(log);
    const ready = await eventually(`${base}/readyz`, async () => {
      if (child.exitCode !== null) return 'exited';
      const r = await fetch(`${base}/readyz`).catch(() => undefined);
      return r && r.status === 200 ? 'ready' : undefined;
    }, { timeoutMs: 60_000 }).catch((e) => e);
    if (ready === 'ready') break;
    if (child.exitCode === null) child.kill('SIGKILL');
    // Another process may have taken the port between freePort() and the bind: retry.
    if (attempt >= 2 || !/écoute sur|address|in use/i.test(tail(logFile))) {
      throw new Error(`caducee serve did not become ready (${ready instanceof Error ? ready.message : ready}); log ${logFile}:\n${tail(logFile)}`);
    }
  }
  return new Stack({ bin, dir, databaseUrl, base, child, smtp, sms, logFile, env });
}

export class Stack {
  constructor(o) {
    Object.assign(this, o);
    this.issuer = `${this.base}/auth/realms/esante-wallet`;
  }

  /** `caducee ARGS…` on the stack's database; resolves {code, stdout, stderr}. */
  cli(args, { env, timeoutMs } = {}) {
    return run(this.bin, args, {
      env: { ...this.env, CADUCEE_DATABASE_URL: this.databaseUrl, CADUCEE_LOG: 'warn', ...env }, timeoutMs, cwd: this.dir,
    });
  }

  /** Same, failing with the command's output unless it exits 0; resolves stdout. */
  async cliOk(args, opts) {
    const r = await this.cli(args, opts);
    if (r.code !== 0) {
      throw new Error(`caducee ${args.join(' ')} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
    }
    return r.stdout;
  }

  /**
   * `caducee client add`: a confidential client when `secret` is given, else public.
   * Returns {id, secret, redirectUris, postLogoutRedirectUris}.
   */
  async addClient({ id, name = id, secret, redirectUris = [], postLogoutRedirectUris = [], grants = [] }) {
    const args = ['client', 'add', '--id', id, '--name', name];
    if (secret !== undefined) {
      const f = path.join(this.dir, `secret-${id}`);
      fs.writeFileSync(f, `${secret}\n`, { mode: 0o600 });
      args.push('--secret-file', f);
    }
    for (const u of redirectUris) args.push('--redirect-uri', u);
    for (const u of postLogoutRedirectUris) args.push('--post-logout-redirect-uri', u);
    for (const g of grants) args.push('--grant', g);
    await this.cliOk(args);
    return { id, secret, redirectUris, postLogoutRedirectUris, grants };
  }

  /**
   * Activates the e-CPS of a persona with the authenticator CLI: `ecps activate start`, the
   * two codes read from what the SMTP server and the SMS gateway received (or from
   * /dev/outbox when the stack has no notification transports), then `ecps activate finish`.
   * Returns a Phone that approves requests.
   */
  async activate(persona, { password = 'mot de passe e-CPS 2026' } = {}) {
    const store = path.join(this.dir, 'devices', persona.rpps);
    const passwordFile = path.join(this.dir, `password-${persona.rpps}`);
    fs.writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
    // The RPPS as a professional types it: without the leading 8 of the idNat.
    await this.cliOk(['ecps', 'activate', 'start', '--server', this.base, '--id', persona.rpps, '--store', store]);
    let emailCode;
    let smsCode;
    if (this.smtp) {
      const mail = await eventually(`the activation e-mail to ${persona.email}`,
        () => this.smtp.take((m) => m.includes(persona.email) && codeInEmail(m)));
      emailCode = codeInEmail(mail);
      const sms = await eventually(`the activation SMS to ${persona.mobile}`,
        () => this.sms.take((m) => m.to === persona.mobile && codeInSms(m.text)));
      smsCode = codeInSms(sms.text);
    } else {
      ({ emailCode, smsCode } = await eventually('the codes on /dev/outbox', async () => {
        const html = await (await fetch(`${this.base}/dev/outbox`)).text();
        const rows = html.split('<tr').filter((r) => r.includes(persona.email) || r.includes(persona.mobile));
        const mail = rows.find((r) => r.includes(persona.email));
        const text = rows.find((r) => r.includes(persona.mobile));
        const e = mail && codeInSms(mail.replace(/<[^>]*>/g, ' '));
        const s = text && codeInSms(text.replace(/<[^>]*>/g, ' '));
        return e && s ? { emailCode: e, smsCode: s } : undefined;
      }));
    }
    const out = await this.cliOk(['ecps', 'activate', 'finish', '--email-code', emailCode, '--sms-code', smsCode,
      '--store', store, '--password-file', passwordFile]);
    if (!out.includes('e-CPS activée')) throw new Error(`unexpected output of activate finish: ${out}`);
    return new Phone(this, persona, store, passwordFile);
  }

  async stop() {
    if (this.child && this.child.exitCode === null) {
      this.child.kill('SIGTERM');
      await Promise.race([once(this.child, 'exit'), sleep(10_000)]);
      if (this.child.exitCode === null) this.child.kill('SIGKILL');
    }
    await this.smtp?.stop();
    await this.sms?.stop();
    if (!process.env.CADUCEE_TEST_KEEP) fs.rmSync(this.dir, { recursive: true, force: true });
  }

  /** The end of the server's log, for failure messages. */
  logTail(lines = 60) {
    return tail(this.logFile, lines);
  }
}

/** The professional's phone, played by `caducee ecps approve`. */
export class Phone {
  constructor(stack, persona, store, passwordFile) {
    Object.assign(this, { stack, persona, store, passwordFile });
  }

  /** `caducee ecps approve --code CODE --wait SECONDS`: resolves {code, stdout, stderr}. */
  approve(code, { wait = 20 } = {}) {
    return this.stack.cli(['ecps', 'approve', '--code', String(code), '--wait', String(wait),
      '--store', this.store, '--password-file', this.passwordFile], { timeoutMs: (wait + 30) * 1000 });
  }

  async approveOk(code, opts) {
    const r = await this.approve(code, opts);
    if (r.code !== 0) throw new Error(`caducee ecps approve --code ${code} exited ${r.code}\n${r.stdout}\n${r.stderr}`);
    return r.stdout;
  }
}
