// The agencies' back office (/ars, REG-11) for the browser journeys: an agent created with
// `caducee ars agent add`, enrolled in a Playwright page (password, then the TOTP secret
// read from the page), the codes of their authenticator app computed here (RFC 6238 over
// node:crypto, as an app computes them), and the decision on an item of their queue.
//
//   const agent = await enrolAgent(page, stack, { email: 'agent@ars.test', departments: '69' });
//   await decideFirst(page, '/ars/demandes/', { approve: true });       // a change request
//   await decideFirst(page, '/ars/enregistrements/', { approve: true }); // a first registration
//   // later, in another context: await arsLogin(page, stack, agent);

import assert from 'node:assert/strict';
import crypto from 'node:crypto';

import { run } from './stack.js';

export const AGENT_PASSWORD = 'Doubs-Jura-Verifie-2026';

/** RFC 4648 base32 (what the page shows, in groups of four) to bytes. */
export function base32(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  const out = [];
  for (const c of text.replace(/[\s=]/g, '').toUpperCase()) {
    const i = alphabet.indexOf(c);
    assert.ok(i >= 0, `base32 character ${c}`);
    value = (value << 5) | i;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/** RFC 6238 TOTP, SHA-1, 6 digits, 30 s: what an authenticator app shows at `unixSecs`. */
export function totp(secret, unixSecs) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(unixSecs / 30)));
  const h = crypto.createHmac('sha1', secret).update(counter).digest();
  const o = h[h.length - 1] & 0x0f;
  const n = ((h[o] & 0x7f) << 24) | (h[o + 1] << 16) | (h[o + 2] << 8) | h[o + 3];
  return String(n % 1_000_000).padStart(6, '0');
}

// RFC 6238 appendix B (SHA-1): the 6 last digits of 94287082 at 59 s.
assert.equal(totp(Buffer.from('12345678901234567890'), 59), '287082');

/** `caducee ars agent add`; resolves the enrolment link it printed. */
export async function addAgent(stack, { email, name = 'Agent de test', departments }) {
  // The link is made of the public URL of the configuration, as the server's.
  const out = await stack.cliOk(['ars', 'agent', 'add', '--email', email, '--name', name, '--departments', departments],
    { env: { CADUCEE_PUBLIC_URL: stack.base } });
  const link = out.split('\n').find((l) => l.startsWith(`${stack.base}/ars/enrolement/`));
  assert.ok(link, `no enrolment link in: ${out}`);
  return link;
}

/**
 * An agent added and enrolled in `page` (left logged in on the queues). Resolves
 * `{ email, password, secret, nextCode() }`; `see(label)`, when given, is called on each
 * page (the journeys' screenshot and audit).
 */
export async function enrolAgent(page, stack, { email, departments, name, password = AGENT_PASSWORD, see = async () => {} }) {
  const link = await addAgent(stack, { email, name, departments });
  await page.goto(link);
  await page.getByRole('button', { name: "Commencer l'activation" }).click();
  await page.locator('#mot_de_passe').waitFor();
  await page.locator('#mot_de_passe').fill(password);
  await page.locator('#mot_de_passe_confirmation').fill(password);
  await page.getByRole('button', { name: 'Continuer' }).click();
  const shown = page.locator('p', { hasText: "Clé à saisir dans l'application" }).locator('.identifiant');
  await shown.waitFor();
  await see('ars-totp');
  const secret = base32(await shown.innerText());
  await page.locator('#code').fill(totp(secret, Date.now() / 1000));
  await page.getByRole('button', { name: "Terminer l'activation" }).click();
  await page.getByRole('heading', { level: 1, name: 'Files de traitement' }).waitFor();
  await see('ars-files');
  return agentOf(email, password, secret);
}

function agentOf(email, password, secret) {
  let last = Math.floor(Date.now() / 30_000);
  return {
    email,
    password,
    secret,
    /** A code of a step later than the last one used (an app a little ahead is accepted). */
    nextCode() {
      const now = Math.floor(Date.now() / 30_000);
      const step = Math.max(now, last + 1);
      assert.ok(step <= now + 1, 'at most one step ahead of the clock: wait for the next one');
      last = step;
      return totp(secret, step * 30);
    },
  };
}

/** Logs `agent` in at /ars in `page`: e-mail + password, then the TOTP code. */
export async function arsLogin(page, stack, agent) {
  await page.goto(`${stack.base}/ars`);
  await page.locator('#email').fill(agent.email);
  await page.locator('#mot_de_passe').fill(agent.password);
  await page.getByRole('button', { name: 'Se connecter' }).click();
  await page.locator('#code').waitFor();
  await page.locator('#code').fill(agent.nextCode());
  await page.getByRole('button', { name: 'Valider' }).click();
  await page.getByRole('heading', { level: 1, name: 'Files de traitement' }).waitFor();
}

/**
 * From the queues, opens the oldest item whose link starts with `prefix` (`/ars/demandes/`,
 * `/ars/enregistrements/`) and decides it: approved, or rejected with `reason`. Resolves the
 * success message shown (for a registration, it names the RPPS number assigned).
 */
export async function decideFirst(page, prefix, { approve = true, reason = '', see = async () => {} } = {}) {
  await page.goto(new URL('/ars', page.url()).toString());
  await page.locator(`a[href^="${prefix}"]`).first().click();
  await page.getByRole('button', { name: 'Enregistrer la décision' }).waitFor();
  await see('ars-decision');
  await page.getByLabel(approve ? 'Valider' : 'Refuser', { exact: true }).check();
  if (reason) await page.locator('#motif').fill(reason);
  await page.getByRole('button', { name: 'Enregistrer la décision' }).click();
  const done = page.locator('.alerte-succes').first();
  await done.waitFor();
  return done.innerText();
}

/** An anomaly report in the registry's queue, as `caducee_registry::anomaly::file` writes it
 *  (received `daysAgo` days ago), for a stack on SQLite. Resolves its id. */
export async function fileAnomaly(stack, idnat, { field = 'Adresse du cabinet', wrong = '12 rue Victor Hugo', correct = '14 rue Victor Hugo', daysAgo = 3 } = {}) {
  const db = stack.databaseUrl.replace(/^sqlite:\/\//, '');
  const id = crypto.randomUUID();
  const at = Math.floor(Date.now() / 1000) - daysAgo * 86_400;
  const script = `
import sqlite3, sys
db, id, idnat, field, wrong, correct, at = sys.argv[1:8]
at = int(at)
c = sqlite3.connect(db)
c.execute("INSERT INTO reg_anomaly (id, idnat, portal, field, wrong, correct, state, created_at, updated_at) VALUES (?, ?, 'ror', ?, ?, ?, 'received', ?, ?)", (id, idnat, field, wrong, correct, at, at))
c.execute("INSERT INTO reg_anomaly_event (anomaly_id, seq, from_state, to_state, actor, note, at) VALUES (?, 1, NULL, 'received', ?, '', ?)", (id, 'ps:' + idnat, at))
c.commit()
`;
  const r = await run('python3', ['-c', script, db, id, idnat, field, wrong, correct, String(at)]);
  assert.equal(r.code, 0, r.stderr);
  return id;
}
