// A FranceConnect-like OpenID provider for the tests: panva's oidc-provider (the certified
// Node.js provider, the same version as bench/oidc/peer) configured as FranceConnect
// presents itself to a service provider (shared/reference/psc.md "FranceConnect"):
//
// - scopes and claims `given_name family_name birthdate gender birthplace birthcountry
//   email`, `acr` eidas1 (acr_values=eidas1), ID token RS256, userinfo signed (a JWT,
//   application/jwt, verified with the JWKS), client authentication client_secret_post,
//   RP-initiated logout (end_session_endpoint);
// - its own login and consent pages (HTML forms, driven over HTTP by the Rust tests and by
//   Chromium in the browser journeys): the login page lists the accounts to pick.
//
//   node franceconnect-provider.mjs --port 4455 --client-id caducee-erpps \
//     --client-secret-file secret.txt --redirect-uri http://127.0.0.1:8080/erpps/franceconnect/callback \
//     [--post-logout-redirect-uri URI]… --accounts accounts.json | --accounts '[{"sub":…}]' \
//     [--tamper-userinfo]
//
// An account is {sub, given_name, family_name, birthdate, gender, birthplace, birthcountry,
// email}. Prints `ISSUER=http://127.0.0.1:PORT` once listening. `--tamper-userinfo` changes
// one claim of the signed userinfo after signing (a test that the client refuses it).

import fs from 'node:fs';
import http from 'node:http';
import process from 'node:process';
import { URLSearchParams } from 'node:url';
import Provider from 'oidc-provider';
import { exportJWK, generateKeyPair } from 'jose';

function args(argv) {
  const out = { redirect: [], postLogout: [] };
  for (let i = 0; i < argv.length; i += 1) {
    const k = argv[i];
    const v = argv[i + 1];
    switch (k) {
      case '--port': out.port = Number(v); i += 1; break;
      case '--client-id': out.clientId = v; i += 1; break;
      case '--client-secret': out.clientSecret = v; i += 1; break;
      case '--client-secret-file': out.clientSecret = fs.readFileSync(v, 'utf8').trim(); i += 1; break;
      case '--redirect-uri': out.redirect.push(v); i += 1; break;
      case '--post-logout-redirect-uri': out.postLogout.push(v); i += 1; break;
      case '--accounts': out.accounts = v.trim().startsWith('[') ? JSON.parse(v) : JSON.parse(fs.readFileSync(v, 'utf8')); i += 1; break;
      case '--tamper-userinfo': out.tamper = true; break;
      default: throw new Error(`option inconnue : ${k}`);
    }
  }
  if (!out.port || !out.clientId || !out.clientSecret || out.redirect.length === 0 || !out.accounts) {
    throw new Error('--port, --client-id, --client-secret(-file), --redirect-uri et --accounts sont requis');
  }
  return out;
}

const CLAIMS = ['given_name', 'family_name', 'birthdate', 'gender', 'birthplace', 'birthcountry'];

const opts = args(process.argv.slice(2));
const ISSUER = `http://127.0.0.1:${opts.port}`;
const accounts = new Map(opts.accounts.map((a) => [a.sub, a]));
const { privateKey } = await generateKeyPair('RS256', { extractable: true });
const jwk = { ...(await exportJWK(privateKey)), use: 'sig', alg: 'RS256', kid: 'fc-test-1' };

const escape = (s) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));

const provider = new Provider(ISSUER, {
  clients: [{
    client_id: opts.clientId,
    client_secret: opts.clientSecret,
    token_endpoint_auth_method: 'client_secret_post',
    grant_types: ['authorization_code'],
    response_types: ['code'],
    redirect_uris: opts.redirect,
    post_logout_redirect_uris: opts.postLogout,
    id_token_signed_response_alg: 'RS256',
    userinfo_signed_response_alg: 'RS256',
  }],
  jwks: { keys: [jwk] },
  cookies: { keys: ['caducee-fc-test-cookie-key'] },
  acrValues: ['eidas1'],
  scopes: ['openid', 'email', ...CLAIMS],
  claims: {
    openid: ['sub'],
    email: ['email'],
    ...Object.fromEntries(CLAIMS.map((c) => [c, [c]])),
  },
  findAccount: (ctx, id) => {
    const a = accounts.get(id);
    if (!a) return undefined;
    return { accountId: id, claims: () => ({ ...a, sub: id }) };
  },
  features: {
    devInteractions: { enabled: false },
    jwtUserinfo: { enabled: true },
    rpInitiatedLogout: { enabled: true },
  },
  pkce: { required: () => false },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  ttl: { AccessToken: 600, AuthorizationCode: 60, IdToken: 600, Interaction: 600, Session: 600, Grant: 600 },
});
provider.proxy = false;

if (opts.tamper) {
  // After the provider signed the userinfo JWT: one claim of its payload changed.
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.path === '/me' && typeof ctx.body === 'string' && ctx.body.split('.').length === 3) {
      const [h, p, s] = ctx.body.split('.');
      const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
      claims.family_name = 'FAUSSAIRE';
      ctx.body = [h, Buffer.from(JSON.stringify(claims)).toString('base64url'), s].join('.');
    }
  });
}

function page(title, body) {
  return `<!doctype html><html lang="fr"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>${escape(title)}</title></head><body><main><h1>${escape(title)}</h1>${body}</main></body></html>`;
}

async function readForm(req) {
  let data = '';
  for await (const chunk of req) data += chunk;
  return new URLSearchParams(data);
}

// The provider's own pages: pick an identity (login), then consent.
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
        const options = [...accounts.values()].map((a, i) => `<p><label><input type="radio" name="login" value="${escape(a.sub)}"${i === 0 ? ' checked' : ''}> ${escape(a.given_name)} ${escape(a.family_name)} (${escape(a.birthdate)})</label></p>`).join('');
        res.end(page('FranceConnect de test — choisir une identité', `<form method="post" action="/interaction/${uid}/login">${options}<button type="submit" id="fc-login">Se connecter</button></form>`));
      } else {
        res.end(page('FranceConnect de test — autoriser', `<p>Le service ${escape(params.client_id)} demande : ${escape(params.scope)}</p><form method="post" action="/interaction/${uid}/confirm"><button type="submit" id="fc-consent">Continuer</button></form>`));
      }
      return true;
    }
    const form = await readForm(req);
    if (m[2] === '/login') {
      const sub = form.get('login');
      if (!accounts.has(sub)) {
        res.statusCode = 400;
        res.end('compte inconnu');
        return true;
      }
      await provider.interactionFinished(req, res, { login: { accountId: sub, acr: 'eidas1', amr: ['pwd'] } }, { mergeWithLastSubmission: false });
      return true;
    }
    const grant = details.grantId ? await provider.Grant.find(details.grantId) : new provider.Grant({ accountId: details.session.accountId, clientId: params.client_id });
    const missing = prompt.details.missingOIDCScope;
    if (missing) grant.addOIDCScope(missing.join(' '));
    const claims = prompt.details.missingOIDCClaims;
    if (claims) grant.addOIDCClaims(claims);
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
