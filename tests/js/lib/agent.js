// A browser without a browser: plain HTTP with a cookie jar, following the contract of the
// login pages (tests/js/README section of the main README, and the lead's browser contract):
//   GET auth URL → 303 login page → POST identifier (with the csrf) → 303 waiting page with
//   the code in #code-ecps → the phone approves → GET …/continue → 303 redirect_uri?code=…
// Only Node built-ins (bench/oidc reuses it).

import { sleep } from './stack.js';

/** Attributes of an HTML start tag (`<input a="b" c>`), names lower-cased, entities decoded. */
export function attributes(tag) {
  const attrs = {};
  const re = /([^\s"'<>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g;
  const inner = tag.replace(/^<\s*[^\s>]+/, '').replace(/\/?>$/, '');
  let m;
  while ((m = re.exec(inner))) {
    attrs[m[1].toLowerCase()] = decodeEntities(m[2] ?? m[3] ?? m[4] ?? '');
  }
  return attrs;
}

export function decodeEntities(s) {
  return s
    .replace(/&#x([0-9a-f]+);/gi, (_, h) => String.fromCodePoint(parseInt(h, 16)))
    .replace(/&#(\d+);/g, (_, d) => String.fromCodePoint(Number(d)))
    .replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

/** Every start tag of a kind, with its attributes. */
export function tags(html, name) {
  return [...html.matchAll(new RegExp(`<${name}\\b[^>]*>`, 'gi'))].map((m) => ({ raw: m[0], attrs: attributes(m[0]), index: m.index }));
}

/** The forms of a page: {action, method, fields: {name: value}} (inputs and selects). */
export function forms(html, pageUrl) {
  const out = [];
  for (const m of html.matchAll(/<form\b[^>]*>([\s\S]*?)<\/form>/gi)) {
    const attrs = attributes(m[0].match(/<form\b[^>]*>/i)[0]);
    const body = m[1];
    const fields = {};
    for (const i of tags(body, 'input')) {
      const { name, type = 'text', value = '' } = i.attrs;
      if (!name) continue;
      if ((type === 'checkbox' || type === 'radio') && !('checked' in i.attrs)) continue;
      if (type === 'submit' || type === 'button' || type === 'image') continue;
      fields[name] = value;
    }
    for (const s of body.matchAll(/<select\b[^>]*>([\s\S]*?)<\/select>/gi)) {
      const { name } = attributes(s[0].match(/<select\b[^>]*>/i)[0]);
      if (!name) continue;
      const options = tags(s[1], 'option');
      const chosen = options.find((o) => 'selected' in o.attrs) ?? options[0];
      if (chosen) fields[name] = chosen.attrs.value ?? '';
    }
    out.push({
      action: new URL(attrs.action ?? pageUrl, pageUrl).toString(),
      method: (attrs.method ?? 'get').toLowerCase(),
      fields,
      html: m[0],
    });
  }
  return out;
}

/** Text of the element with this id (tags stripped). */
export function textById(html, id) {
  const m = html.match(new RegExp(`<([a-z0-9]+)\\b[^>]*\\bid\\s*=\\s*["']?${id}["']?[^>]*>([\\s\\S]*?)</\\1>`, 'i'));
  return m ? decodeEntities(m[2].replace(/<[^>]*>/g, '')).trim() : undefined;
}

/** Text of the elements with role="alert". */
export function alerts(html) {
  return [...html.matchAll(/<([a-z0-9]+)\b[^>]*\brole\s*=\s*["']?alert["']?[^>]*>([\s\S]*?)<\/\1>/gi)]
    .map((m) => decodeEntities(m[2].replace(/<[^>]*>/g, ' ')).replace(/\s+/g, ' ').trim());
}

export class HttpAgent {
  constructor({ timeoutMs = 30_000 } = {}) {
    /** name → {value, expires} — one host (127.0.0.1) in these tests, so no domain/path logic. */
    this.cookies = new Map();
    /** A request without an answer after this long fails (instead of hanging the test). */
    this.timeoutMs = timeoutMs;
  }

  cookieHeader() {
    const now = Date.now();
    return [...this.cookies.entries()]
      .filter(([, c]) => !c.expires || c.expires > now)
      .map(([n, c]) => `${n}=${c.value}`).join('; ');
  }

  store(res) {
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      let expires;
      for (const a of attrs) {
        const [k, v] = a.split('=').map((x) => x && x.trim());
        if (/^max-age$/i.test(k)) expires = Date.now() + Number(v) * 1000;
        else if (/^expires$/i.test(k) && expires === undefined) expires = Date.parse(v);
      }
      if (value === '' || (expires !== undefined && expires <= Date.now())) this.cookies.delete(name);
      else this.cookies.set(name, { value, expires, raw: line });
    }
  }

  async request(method, url, { form, headers = {} } = {}) {
    const h = { ...headers };
    const cookie = this.cookieHeader();
    if (cookie) h.cookie = cookie;
    let body;
    if (form) {
      body = new URLSearchParams(form).toString();
      h['content-type'] = 'application/x-www-form-urlencoded';
    }
    const res = await fetch(url, { method, headers: h, body, redirect: 'manual', signal: AbortSignal.timeout(this.timeoutMs) });
    this.store(res);
    const text = await res.text();
    const location = res.headers.get('location');
    return { status: res.status, headers: res.headers, text, url: String(url), location: location ? new URL(location, url).toString() : undefined };
  }

  get(url, opts) { return this.request('GET', url, opts); }

  post(url, form, opts) { return this.request('POST', url, { ...opts, form }); }
}

function expectRedirect(res, what) {
  if (![302, 303].includes(res.status) || !res.location) {
    throw new Error(`${what}: expected a 302/303 redirect from ${res.url}, got ${res.status}\n${res.text.slice(0, 2000)}`);
  }
  return res.location;
}

export function isCallback(url, redirectUri) {
  return url.split('?')[0] === redirectUri;
}

/**
 * Starts an authorization in `agent` and stops at the first page that is not a redirect
 * inside the provider: resolves {callback} when the provider redirected to redirectUri (SSO),
 * or {loginPage: {url, html}}.
 */
export async function startAuthorization(agent, authUrl, redirectUri) {
  const res = await agent.get(authUrl);
  const loc = expectRedirect(res, 'authorization endpoint');
  if (isCallback(loc, redirectUri)) return { callback: loc };
  const page = await agent.get(loc);
  if (page.status !== 200) throw new Error(`login page ${loc}: ${page.status}\n${page.text.slice(0, 2000)}`);
  return { loginPage: { url: loc, html: page.text } };
}

/** The login form of a login page (the one with the identifier field). */
export function loginForm(loginPage) {
  const form = forms(loginPage.html, loginPage.url).find((f) => 'identifier' in f.fields);
  if (!form) throw new Error(`no form with an "identifier" field on ${loginPage.url}:\n${loginPage.html.slice(0, 3000)}`);
  return form;
}

/** Submits the identifier: resolves the response (303 to the waiting page on success). */
export function submitIdentifier(agent, loginPage, identifier, { identifierType, remember } = {}) {
  const form = loginForm(loginPage);
  const fields = { ...form.fields, identifier };
  if (identifierType) fields.identifier_type = identifierType;
  if (remember) fields.remember = 'on';
  return agent.post(form.action, fields);
}

/**
 * The whole e-CPS login in `agent` for `authUrl`: resolves {callback, code, sso, flowUrl}.
 * `phone.approveOk(code)` answers the request; `onCode(code, page)` is called first if given.
 */
export async function loginWithEcps(agent, authUrl, { redirectUri, identifier, phone, onCode }) {
  const started = await startAuthorization(agent, authUrl, redirectUri);
  if (started.callback) return { callback: started.callback, sso: true };
  const posted = await submitIdentifier(agent, started.loginPage, identifier);
  const waitingUrl = expectRedirect(posted, `POST identifier ${identifier}`);
  const waiting = await agent.get(waitingUrl);
  const code = textById(waiting.text, 'code-ecps');
  if (!code || !/^\d{2}$/.test(code)) {
    throw new Error(`waiting page ${waitingUrl}: no 2-digit #code-ecps (${waiting.status})\n${waiting.text.slice(0, 3000)}`);
  }
  if (onCode) await onCode(code, waiting);
  await phone.approveOk(code);
  const flowUrl = waitingUrl.replace(/\/ecps\/?(\?.*)?$/, '');
  // As the page's script does: poll the status until approved, then continue.
  const deadline = Date.now() + 20_000;
  let status;
  for (;;) {
    const r = await agent.get(`${flowUrl}/status`);
    status = r.status === 200 ? JSON.parse(r.text) : { status: `HTTP ${r.status}` };
    if (status.status !== 'pending' || Date.now() > deadline) break;
    await sleep(200);
  }
  if (status.status !== 'approved') throw new Error(`${flowUrl}/status after approval: ${JSON.stringify(status)}`);
  const cont = await agent.get(`${flowUrl}/continue`);
  const callback = expectRedirect(cont, `${flowUrl}/continue`);
  if (!isCallback(callback, redirectUri)) throw new Error(`continue redirected to ${callback}, not to ${redirectUri}`);
  return { callback, code, sso: false, flowUrl, waitingHtml: waiting.text };
}
