// An organisation's own identity provider for the délégation tests (PSC-08): panva's
// oidc-provider (the certified Node.js provider, as franceconnect-provider.mjs) with its own
// login and consent pages (HTML forms, driven over HTTP by the Rust tests, by Chromium in
// the browser journeys, by hand on `serve --demo`: README "Délégation").
//
// Each account says how it logged in: its `amr` (RFC 8176: `["pwd","otp","mfa"]`, or
// `["pwd"]` for a password alone) goes into the ID token, from which caducee derives the
// level (a password alone is too weak).
//
//   node delegation-provider.mjs --port 4466 --client-id caducee \
//     --client-secret-file secret.txt \
//     --redirect-uri http://127.0.0.1:8080/auth/realms/esante-wallet/broker/chu/endpoint \
//     [--accounts accounts.json | --accounts '[{"sub":"…","name":"…","amr":["pwd","otp"]}]']
//
// Without --accounts: two accounts, `agent-mfa` (password + one-time code) and `agent-pwd`
// (password alone). Prints `ISSUER=http://127.0.0.1:PORT` once listening.

import fs from 'node:fs';
import http from 'node:http';
import process from 'node:process';
import { URLSearchParams } from 'node:url';
import Provider from 'oidc-provider';
import { exportJWK, generateKeyPair } from 'jose';

const DEFAULT_ACCOUNTS = [
  { sub: 'agent-mfa', name: 'Julie Martin (mot de passe + code à usage unique)', amr: ['pwd', 'otp', 'mfa'] },
  { sub: 'agent-pwd', name: 'Julie Martin (mot de passe seul)', amr: ['pwd'] },
];

function args(argv) {
  const out = { redirect: [], accounts: DEFAULT_ACCOUNTS };
  for (let i = 0; i < argv.length; i += 1) {
    const k = argv[i];
    const v = argv[i + 1];
    switch (k) {
      case '--port': out.port = Number(v); i += 1; break;
      case '--client-id': out.clientId = v; i += 1; break;
      case '--client-secret': out.clientSecret = v; i += 1; break;
      case '--client-secret-file': out.clientSecret = fs.readFileSync(v, 'utf8').trim(); i += 1; break;
      case '--redirect-uri': out.redirect.push(v); i += 1; break;
      case '--accounts': out.accounts = v.trim().startsWith('[') ? JSON.parse(v) : JSON.parse(fs.readFileSync(v, 'utf8')); i += 1; break;
      default: throw new Error(`option inconnue : ${k}`);
    }
  }
  if (!out.port || !out.clientId || !out.clientSecret || out.redirect.length === 0) {
    throw new Error('--port, --client-id, --client-secret(-file) et --redirect-uri sont requis');
  }
  return out;
}

const opts = args(process.argv.slice(2));
const ISSUER = `http://127.0.0.1:${opts.port}`;
const accounts = new Map(opts.accounts.map((a) => [a.sub, a]));
const { privateKey } = await generateKeyPair('ES256', { extractable: true });
const jwk = { ...(await exportJWK(privateKey)), use: 'sig', alg: 'ES256', kid: 'delegation-test-1' };

const escape = (s) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));

const provider = new Provider(ISSUER, {
  clients: [{
    client_id: opts.clientId,
    client_secret: opts.clientSecret,
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: ['authorization_code'],
    response_types: ['code'],
    redirect_uris: opts.redirect,
    id_token_signed_response_alg: 'ES256',
  }],
  jwks: { keys: [jwk] },
  cookies: { keys: ['caducee-delegation-test-cookie-key'] },
  scopes: ['openid'],
  // amr and auth_time with the openid scope: in every ID token.
  claims: { openid: ['sub', 'amr', 'auth_time'] },
  findAccount: (ctx, id) => (accounts.has(id) ? { accountId: id, claims: () => ({ sub: id }) } : undefined),
  features: { devInteractions: { enabled: false } },
  pkce: { required: () => true },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  ttl: { AccessToken: 600, AuthorizationCode: 60, IdToken: 600, Interaction: 600, Session: 600, Grant: 600 },
});
provider.proxy = false;

function page(title, body) {
  return `<!doctype html><html lang="fr"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>${escape(title)}</title></head><body><main><h1>${escape(title)}</h1>${body}</main></body></html>`;
}

async function readForm(req) {
  let data = '';
  for await (const chunk of req) data += chunk;
  return new URLSearchParams(data);
}

async function interactions(req, res) {
  const url = new URL(req.url, ISSUER);
  const m = url.pathname.match(/^\/interaction\/([^/]+)(\/login|\/confirm)?$/);
  if (!m) return false;
  try {
    const details = await provider.interactionDetails(req, res);
    const { uid, prompt, params } = details;
    if (req.method === 'GET') {
      res.setHeader('content-type', 'text/html; charset=utf-8');
      if (prompt.name === 'login') {
        const options = [...accounts.values()].map((a, i) => `<p><label><input type="radio" name="login" value="${escape(a.sub)}"${i === 0 ? ' checked' : ''}> ${escape(a.name || a.sub)}</label></p>`).join('');
        res.end(page("Fournisseur d'identité de l'établissement (test) — connexion", `<form method="post" action="/interaction/${uid}/login">${options}<button type="submit" id="idp-login">Se connecter</button></form>`));
      } else {
        res.end(page("Fournisseur d'identité de l'établissement (test) — autoriser", `<p>Le service ${escape(params.client_id)} demande : ${escape(params.scope)}</p><form method="post" action="/interaction/${uid}/confirm"><button type="submit" id="idp-consent">Continuer</button></form>`));
      }
      return true;
    }
    const form = await readForm(req);
    if (m[2] === '/login') {
      const sub = form.get('login');
      const account = accounts.get(sub);
      if (!account) {
        res.statusCode = 400;
        res.end('compte inconnu');
        return true;
      }
      await provider.interactionFinished(req, res, { login: { accountId: sub, amr: account.amr || [] } }, { mergeWithLastSubmission: false });
      return true;
    }
    const grant = details.grantId ? await provider.Grant.find(details.grantId) : new provider.Grant({ accountId: details.session.accountId, clientId: params.client_id });
    const missing = prompt.details.missingOIDCScope;
    if (missing) grant.addOIDCScope(missing.join(' '));
    const grantId = await grant.save();
    await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
    return true;
  } catch (e) {
    res.statusCode = 400;
    res.setHeader('content-type', 'text/plain; charset=utf-8');
    res.end(`erreur : ${e.message}`);
    return true;
  }
}

const callback = provider.callback();
const server = http.createServer(async (req, res) => {
  if (await interactions(req, res)) return;
  callback(req, res);
});
server.listen(opts.port, '127.0.0.1', () => {
  process.stdout.write(`ISSUER=${ISSUER}\n`);
});
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => server.close(() => process.exit(0)));
