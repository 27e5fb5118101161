// Real tokens for bench/oidc, obtained through real code flows (no shortcut into either
// server's storage):
// - caducee: one e-CPS login of a demo persona (login page over HTTP, the phone played by
//   `caducee ecps approve`), then, on that SSO session, as many further authorizations as
//   refresh-token families are needed (each code exchange starts an independent family);
// - oidc-provider: one login through its devInteractions pages (login + consent) per family,
//   each in a browser session of its own (one grant per user, as in real use).
// Only Node built-ins plus the tests' HTTP agent (tests/js/lib, built-ins only).

import crypto from 'node:crypto';

import { HttpAgent, forms, isCallback, loginWithEcps } from '../../tests/js/lib/agent.js';

const REDIRECT_URI = 'http://127.0.0.1:9/cb';

function pkce() {
  const verifier = crypto.randomBytes(32).toString('base64url');
  const challenge = crypto.createHash('sha256').update(verifier).digest('base64url');
  return { verifier, challenge };
}

function basic(id, secret) {
  return `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
}

async function tokenRequest(tokenEndpoint, clientId, secret, form) {
  const res = await fetch(tokenEndpoint, {
    method: 'POST',
    headers: { authorization: basic(clientId, secret), 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form),
    signal: AbortSignal.timeout(30_000),
  });
  const json = await res.json().catch(() => ({}));
  if (res.status !== 200) throw new Error(`token endpoint ${tokenEndpoint}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

/** A relying party of one provider (discovery read once), with a session in `agent`. */
export class BenchClient {
  /**
   * kind: 'caducee' | 'peer'; issuer; clientId, secret;
   * caducee only: identifier (RPPS typed on the login page) and phone (approves);
   * peer only: resource — the resource indicator whose access tokens are JWTs.
   */
  constructor(o) {
    Object.assign(this, o);
    this.agent = new HttpAgent();
  }

  async discover() {
    const res = await fetch(`${this.issuer}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(30_000) });
    if (res.status !== 200) throw new Error(`discovery of ${this.issuer}: ${res.status}`);
    this.meta = await res.json();
    return this;
  }

  authUrl({ resource } = {}) {
    const { verifier, challenge } = pkce();
    const u = new URL(this.meta.authorization_endpoint);
    const q = {
      response_type: 'code', client_id: this.clientId, redirect_uri: REDIRECT_URI, scope: 'openid scope_all',
      state: crypto.randomBytes(16).toString('base64url'), nonce: crypto.randomBytes(32).toString('hex'),
      code_challenge: challenge, code_challenge_method: 'S256',
    };
    if (this.kind === 'caducee') q.acr_values = 'eidas1';
    if (resource) q.resource = resource;
    for (const [k, v] of Object.entries(q)) u.searchParams.set(k, v);
    return { url: u.toString(), verifier };
  }

  /** Follows one authorization to the callback, logging in when asked; resolves the callback URL. */
  async authorize(url, agent = this.agent) {
    if (this.kind === 'caducee') {
      const r = await loginWithEcps(agent, url, { redirectUri: REDIRECT_URI, identifier: this.identifier, phone: this.phone });
      return r.callback;
    }
    // oidc-provider: redirects inside the provider, its devInteractions pages (login: any
    // account; consent: grant what is missing), until the redirect to the client.
    let next = url;
    for (let hops = 0; hops < 20; hops++) {
      const res = await agent.get(next);
      if ([302, 303].includes(res.status)) {
        if (isCallback(res.location, REDIRECT_URI)) return res.location;
        next = res.location;
        continue;
      }
      if (res.status !== 200) throw new Error(`oidc-provider ${next}: ${res.status} ${res.text.slice(0, 500)}`);
      const form = forms(res.text, next).find((f) => f.method === 'post');
      if (!form) throw new Error(`oidc-provider ${next}: no form\n${res.text.slice(0, 1000)}`);
      const fields = { ...form.fields };
      if (/name="login"/.test(form.html)) Object.assign(fields, { prompt: 'login', login: '819999900012', password: 'bench' });
      else fields.prompt = fields.prompt || 'consent';
      const posted = await agent.post(form.action, fields);
      if (![302, 303].includes(posted.status)) throw new Error(`oidc-provider POST ${form.action}: ${posted.status} ${posted.text.slice(0, 500)}`);
      next = posted.location;
      if (isCallback(next, REDIRECT_URI)) return next;
    }
    throw new Error('oidc-provider: too many redirects');
  }

  /** One complete code flow: resolves the token response. */
  async codeFlow({ resource, agent } = {}) {
    const { url, verifier } = this.authUrl({ resource });
    const callback = new URL(await this.authorize(url, agent));
    const code = callback.searchParams.get('code');
    if (!code) throw new Error(`no code in ${callback}`);
    const form = { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: verifier };
    if (resource) form.resource = resource;
    return tokenRequest(this.meta.token_endpoint, this.clientId, this.secret, form);
  }

  /**
   * `n` refresh tokens of independent families whose refresh grants give RS256 JWT access
   * tokens (and ID tokens). Runs a few flows at once.
   * - caducee: every family comes from its own code exchange on the one SSO session (an
   *   e-CPS login per family is impossible: the e-CPS limits requests per professional);
   *   caducee keeps each family apart whatever its session.
   * - oidc-provider: every family comes from its own login (a new browser session), because
   *   oidc-provider keeps one grant per session and client, and its in-memory adapter does
   *   work proportional to the number of tokens of a grant at each token it saves: families
   *   sharing one grant would slow it down as the run goes on, which no real deployment
   *   (one grant per user) sees.
   */
  async refreshTokens(n) {
    const separate = this.kind === 'peer';
    if (!separate) await this.codeFlow({ resource: this.resource }); // the login itself, once
    const out = [];
    const worker = async () => {
      while (out.length < n) {
        const t = await this.codeFlow({ resource: this.resource, agent: separate ? new HttpAgent() : this.agent });
        if (!t.refresh_token) throw new Error(`no refresh_token in ${JSON.stringify(t)}`);
        out.push(t.refresh_token);
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
    return out.slice(0, n);
  }

  /** An access token that the provider's own userinfo and introspection endpoints accept. */
  async userAccessToken() {
    // oidc-provider refuses a token issued for a resource server at its userinfo endpoint
    // and JWT access tokens at its introspection endpoint: it gets an opaque token issued
    // for userinfo (no resource). caducee issues its PSC JWT access token.
    const t = await this.codeFlow();
    return t.access_token;
  }

  /** A sample of each benchmarked response, to check it and count its signatures. */
  async sample(kind, { token } = {}) {
    const auth = { authorization: basic(this.clientId, this.secret), 'content-type': 'application/x-www-form-urlencoded' };
    const signal = AbortSignal.timeout(30_000);
    let res;
    if (kind === 'client_credentials') {
      res = await fetch(this.meta.token_endpoint, { method: 'POST', headers: auth, body: 'grant_type=client_credentials', signal });
    } else if (kind === 'refresh') {
      res = await fetch(this.meta.token_endpoint, { method: 'POST', headers: auth, body: `grant_type=refresh_token&refresh_token=${encodeURIComponent(token)}`, signal });
    } else if (kind === 'userinfo') {
      res = await fetch(this.meta.userinfo_endpoint, { headers: { authorization: `Bearer ${token}` }, signal });
    } else if (kind === 'introspection') {
      res = await fetch(this.meta.introspection_endpoint, { method: 'POST', headers: auth, body: `token=${encodeURIComponent(token)}`, signal });
    }
    const text = await res.text();
    return { status: res.status, text, json: (() => { try { return JSON.parse(text); } catch { return undefined; } })() };
  }
}

/** Number of signed JWTs (RS/ES/PS) among the tokens of a token response. */
export function signaturesIn(tokenResponse) {
  let n = 0;
  for (const k of ['access_token', 'id_token', 'refresh_token']) {
    const t = tokenResponse?.[k];
    if (typeof t !== 'string' || t.split('.').length !== 3) continue;
    try {
      const header = JSON.parse(Buffer.from(t.split('.')[0], 'base64url').toString());
      if (/^(RS|ES|PS)\d+$/.test(header.alg)) n += 1;
    } catch { /* opaque */ }
  }
  return n;
}

export { basic, REDIRECT_URI };
