// The Ordre des médecins portal (/espaces/ordre) for the JS tests and bench/portal:
// physicians of the demo registry made ready for the local accounts' checks (a birth date
// and both coordinates, set with the operator commands `caducee registry identity` and
// `caducee registry contact`, as an agency would), the messages the portal sends read from
// the real SMTP server and the SMS gateway of the stack (never from the database), and a
// local account created through the HTTP journey of /creer, as a browser would.
//
// Only Node built-ins (bench/portal reuses it without installing anything).

import { forms } from './agent.js';
import { HttpAgent } from './agent.js';
import { codeInEmail, codeInSms, eventually, run } from './stack.js';

export const PORTAL = '/espaces/ordre';

/** A password the portal's policy accepts (≥ 12 characters, not common, zxcvbn ≥ medium). */
export const GOOD_PASSWORD = 'péniche-vélo-grenadine-42';

let prepared = 0;

/**
 * `n` physicians (profession 10, an activity not ended) of the stack's demo registry without
 * a civil status yet, each given a birth date and an e-mail and a mobile of their own through
 * the operator CLI. The registry is read with sqlite3 (the stack's SQLite database) only to
 * pick them. Resolves [{rpps, idnat, firstName, lastName, birthDate (JJ/MM/AAAA), email, mobile}].
 */
export async function preparePhysicians(stack, n, { tag = 'medecin' } = {}) {
  const file = stack.databaseUrl.replace(/^sqlite:\/\//, '');
  const sql = `select p.id_pp, p.idnat, p.first_name, p.last_name from reg_person p
    where p.id_type = '8'
      and exists (select 1 from reg_activity a where a.idnat = p.idnat and a.profession_code = '10' and a.ended_at is null)
      and not exists (select 1 from reg_civil_identity c where c.idnat = p.idnat)
    order by p.idnat limit ${Number(n)}`;
  const r = await run('sqlite3', ['-separator', '|', file, sql]);
  if (r.code !== 0) throw new Error(`sqlite3 ${file}: ${r.stderr}`);
  const rows = r.stdout.trim().split('\n').filter(Boolean).map((l) => l.split('|'));
  if (rows.length < n) throw new Error(`only ${rows.length} physicians without a civil status in the demo registry (${n} wanted)`);
  const out = [];
  for (const [rpps, idnat, firstName, lastName] of rows) {
    prepared += 1;
    const k = String(prepared).padStart(2, '0');
    // A day of its own for each, so no two share a (birth date, RPPS) guess.
    const day = String(1 + (prepared % 28)).padStart(2, '0');
    const month = String(1 + (prepared % 12)).padStart(2, '0');
    const year = 1960 + (prepared % 30);
    const email = `${tag}.${k}.${rpps}@example.test`;
    const mobile = `+336987654${k}`;
    await stack.cliOk(['registry', 'identity', rpps, '--birth-date', `${year}-${month}-${day}`,
      '--operator', 'tests/js', '--evidence', 'jeu de test']);
    await stack.cliOk(['registry', 'contact', rpps, '--email', email, '--mobile', mobile,
      '--operator', 'tests/js', '--evidence', 'jeu de test']);
    out.push({ rpps, idnat, firstName, lastName, birthDate: `${day}/${month}/${year}`, email, mobile });
  }
  return out;
}

// ------------------------------------------------------------------ messages

/** The text parts of a raw e-mail, decoded (quoted-printable or base64), joined. */
export function mailText(raw) {
  const decodePart = (headers, body) => {
    const cte = (headers.match(/^content-transfer-encoding:\s*(\S+)/im) || [])[1]?.toLowerCase();
    if (cte === 'base64') return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
    if (cte === 'quoted-printable') {
      const soft = body.replace(/=\r?\n/g, '');
      const bytes = [];
      for (let i = 0; i < soft.length; i++) {
        if (soft[i] === '=' && /^[0-9A-F]{2}$/i.test(soft.slice(i + 1, i + 3))) {
          bytes.push(parseInt(soft.slice(i + 1, i + 3), 16));
          i += 2;
        } else {
          bytes.push(...Buffer.from(soft[i], 'utf8'));
        }
      }
      return Buffer.from(bytes).toString('utf8');
    }
    return body;
  };
  const split = (text) => {
    const m = text.match(/\r?\n\r?\n/);
    return m ? [text.slice(0, m.index), text.slice(m.index + m[0].length)] : [text, ''];
  };
  const [headers, body] = split(raw);
  const boundary = (headers.match(/boundary="?([^";\r\n]+)"?/i) || [])[1];
  if (!boundary) return decodePart(headers, body);
  const texts = [];
  const walk = (content, b) => {
    for (const chunk of content.split(`--${b}`).slice(1)) {
      if (chunk.startsWith('--')) break;
      const [h, bd] = split(chunk.replace(/^\r?\n/, ''));
      const inner = (h.match(/boundary="?([^";\r\n]+)"?/i) || [])[1];
      if (inner) walk(bd, inner);
      else if (/content-type:\s*text\/plain/i.test(h)) texts.push(decodePart(h, bd));
    }
  };
  walk(body, boundary);
  return texts.join('\n');
}

const addressed = (raw, to) => {
  const header = raw.split(/\r?\n\r?\n/)[0];
  return new RegExp(`^To:.*${to.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`, 'im').test(header);
};

/** The next e-mail to `to` whose decoded text satisfies `pred` (taken now): {raw, text}. */
export async function takeMail(stack, to, what, pred = () => true) {
  const raw = await eventually(`${what} (e-mail to ${to})`,
    () => stack.smtp.take((m) => addressed(m, to) && pred(mailText(m))));
  return { raw, text: mailText(raw) };
}

/** The 6-digit code of the next e-mail to `to` carrying one. */
export async function codeByEmail(stack, to) {
  const { text } = await takeMail(stack, to, 'a 6-digit code', (t) => codeInEmail(t));
  return codeInEmail(text);
}

/** The 6-digit code of the next SMS to `mobile`. */
export async function codeBySms(stack, mobile) {
  const sms = await eventually(`a 6-digit code by SMS to ${mobile}`,
    () => stack.sms.take((m) => m.to === mobile && codeInSms(m.text)));
  return codeInSms(sms.text);
}

/** The single-use link of the next password-reset e-mail to `to` (an absolute URL). */
export async function resetLink(stack, to) {
  const re = new RegExp(`https?://[^\\s"<>]*${PORTAL}/lien/[A-Za-z0-9_-]+`);
  const { text } = await takeMail(stack, to, 'the single-use link', (t) => re.test(t));
  return text.match(re)[0];
}

// ------------------------------------------------------------------ HTTP journey

/** The form of `html` whose action ends with `pathEnd`, with its fields. */
function formOf(res, pathEnd) {
  const f = forms(res.text, res.url).find((x) => new URL(x.action).pathname.endsWith(pathEnd));
  if (!f) throw new Error(`no form posting to …${pathEnd} on ${res.url} (${res.status}):\n${res.text.slice(0, 3000)}`);
  return f;
}

async function follow(agent, res, what) {
  if (res.status !== 303 || !res.location) {
    throw new Error(`${what}: expected a 303 from ${res.url}, got ${res.status}\n${res.text.slice(0, 3000)}`);
  }
  return agent.get(res.location);
}

/**
 * Creates the local account of `phys` through /creer over plain HTTP (a cookie jar, the
 * CSRF tokens of the pages, the code read from the SMTP server or the SMS gateway).
 * channel 'email' (the login is the registry e-mail) or 'sms' (the login is `email`).
 * Resolves {email, password}.
 */
export async function createAccount(stack, phys, { channel = 'email', email, password = GOOD_PASSWORD } = {}) {
  const agent = new HttpAgent();
  const base = `${stack.base}${PORTAL}`;
  let page = await agent.get(`${base}/creer`);
  let f = formOf(page, '/creer');
  page = await follow(agent, await agent.post(f.action, {
    ...f.fields, date_naissance: phys.birthDate, rpps: phys.rpps, cgu: 'on',
  }), 'identity');
  f = formOf(page, '/creer');
  page = await follow(agent, await agent.post(f.action, { ...f.fields, moyen: channel, action: 'envoyer' }), 'choose');
  const code = channel === 'sms' ? await codeBySms(stack, phys.mobile) : await codeByEmail(stack, phys.email);
  f = formOf(page, '/creer');
  page = await follow(agent, await agent.post(f.action, { ...f.fields, code, action: 'valider' }), 'code');
  f = formOf(page, '/creer');
  const login = channel === 'sms' ? email : phys.email;
  const fields = { ...f.fields, mot_de_passe: password, mot_de_passe_confirmation: password };
  if (channel === 'sms') fields.email = login;
  const done = await agent.post(f.action, fields);
  if (done.status !== 303 || !done.location?.endsWith('/creer/termine')) {
    throw new Error(`finalise: expected a 303 to /creer/termine, got ${done.status} ${done.location ?? ''}\n${done.text.slice(0, 3000)}`);
  }
  // The confirmation e-mail, taken so it does not stand for a later message.
  await takeMail(stack, login, 'the confirmation e-mail', (t) => !codeInEmail(t));
  return { email: login, password };
}

/** A logged-in HTTP agent on the portal (cookie + CSRF from the login page). */
export async function login(stack, email, password) {
  const agent = new HttpAgent();
  const page = await agent.get(`${stack.base}${PORTAL}`);
  const f = formOf(page, '/connexion');
  const res = await agent.post(f.action, { ...f.fields, email, mot_de_passe: password });
  if (res.status !== 303) throw new Error(`login of ${email}: ${res.status}\n${res.text.slice(0, 2000)}`);
  return { agent, csrf: f.fields.csrf, action: f.action };
}
