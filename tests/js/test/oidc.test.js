// openid-client (a certified OpenID Connect relying party library) against a running
// `caducee serve --demo`: discovery, code flow with PKCE S256 + nonce + state, tokens and
// claims as Pro Santé Connect shapes them (reference/psc.md), userinfo, refresh with rotation
// and reuse detection, introspection, revocation, client credentials (secret and
// private_key_jwt), RP-initiated and back-channel logout, SSO between two clients, prompt /
// max_age / login_hint / acr_values, ES256 ID tokens and signed userinfo, clients and keys
// changed while the server runs, and CIBA in poll mode. The login pages are driven over
// plain HTTP following their contract; the professional's phone is `caducee ecps approve`.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import { once } from 'node:events';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as client from 'openid-client';
import * as jose from 'jose';

import { PERSONAS, eventually, run, startStack } from '../lib/stack.js';
import {
  HttpAgent, alerts, isCallback, loginForm, loginWithEcps, startAuthorization, submitIdentifier,
} from '../lib/agent.js';

const SCOPE = 'openid scope_all';
const RP = 'http://127.0.0.1:9'; // the relying parties' own URLs: never fetched, only compared

const WEB = {
  id: 'web-rp',
  name: 'Application web de test',
  secret: `s3cret-${crypto.randomBytes(24).toString("hex")}`,
  redirectUris: [`${RP}/web/callback`],
  postLogoutRedirectUris: [`${RP}/web/logged-out`],
  grants: ['authorization_code', 'refresh_token'],
};
const MOBILE = {
  id: 'mobile-rp',
  name: 'Application publique de test',
  redirectUris: [`${RP}/mobile/callback`],
  grants: ['authorization_code', 'refresh_token'],
};
const ES256 = {
  id: 'es256-rp',
  name: 'Application ES256 et userinfo signé',
  secret: `e5-${crypto.randomBytes(24).toString('hex')}`,
  redirectUris: [`${RP}/es256/callback`],
  grants: ['authorization_code', 'refresh_token'],
};
const BACKEND = {
  id: 'backend-svc',
  name: 'Service back-end de test',
  secret: `b4ck-${crypto.randomBytes(24).toString("hex")}`,
  grants: ['client_credentials', 'ciba'],
};

// Every field of an activity in PSC's userinfo (reference/psc.md): present, a string.
const ACTIVITY_FIELDS = [
  'codeModeExercice', 'codeSecteurDactivite', 'codeSectionPharmacien', 'codeRole', 'codeGenreActivite',
  'numeroSiretSite', 'numeroSirenSite', 'numeroFinessSite', 'numeroFinessetablissementJuridique',
  'identifiantTechniqueDeLaStructure', 'raisonSocialeSite', 'enseigneCommercialeSite', 'complementDestinataire',
  'complementPointGeographique', 'numeroVoie', 'indiceRepetitionVoie', 'codeTypeDeVoie', 'libelleVoie',
  'mentionDistribution', 'bureauCedex', 'codePostal', 'codeCommune', 'codePays', 'telephone', 'telephone2',
  'telecopie', 'adresseEMail', 'codeDepartement', 'ancienIdentifiantDeLaStructure', 'autoriteDenregistrement',
];
const EXERCICE_FIELDS = [
  'codeProfession', 'codeCategorieProfessionnelle', 'codeCiviliteDexercice', 'nomDexercice', 'prenomDexercice',
  'codeTypeSavoirFaire', 'codeSavoirFaire',
];
const USERINFO_FIELDS = [
  'sub', 'preferred_username', 'SubjectNameID', 'given_name', 'family_name', 'email_verified', 'authMode',
  'otherIds', 'SubjectRole', 'SubjectOrganization', 'SubjectOrganizationID', 'Secteur_Activite',
  'Palier_Authentification', 'PSI_Locale', 'UITVersion', 'Mode_Acces_Raison', 'Acces_Regulation_Medicale',
  'SubjectRefPro',
];

const insecure = { execute: [client.allowInsecureRequests] };

function decodeJwt(jwt) {
  return { header: jose.decodeProtectedHeader(jwt), payload: jose.decodeJwt(jwt) };
}

/**
 * Expects `promise` to fail with an OAuth error response carrying `error` (in the JSON body,
 * or in the WWW-Authenticate challenge of a 401, RFC 6749 §5.2).
 */
async function rejectsWith(promise, error, status) {
  let e;
  try {
    await promise;
  } catch (caught) {
    e = caught;
  }
  assert.ok(e, `expected the ${error} error, but the request succeeded`);
  let got;
  if (e instanceof client.ResponseBodyError) {
    got = e.error;
  } else if (e instanceof client.WWWAuthenticateChallengeError) {
    got = e.cause?.[0]?.parameters?.error;
    if (!got) got = (await e.response.json().catch(() => ({}))).error;
  } else {
    assert.fail(`expected an OAuth error response, got ${e?.constructor?.name}: ${e?.message}`);
  }
  assert.equal(got, error, `error of ${JSON.stringify(e.cause)}`);
  if (status) assert.equal(e.status, status);
}

describe('openid-client against caducee', { timeout: 300_000 }, () => {
  let stack;
  let julie; // Phone of Julie Martin (browser logins)
  let thomas; // Phone of Thomas Bernard (CIBA)
  let helene; // Phone of Hélène Dubois (a CIBA request left pending)
  let web; // openid-client Configuration of each client
  let mobile;
  let backend;
  let jwks;
  let registry; // `caducee registry get` of Julie Martin

  before(async () => {
    // Keys reloaded every second (default 60 s) so that a rotation shows within the test.
    stack = await startStack({ name: 'oidc', config: '[idp]\nkey_reload_secs = 1\n' });
    await stack.addClient(WEB);
    await stack.addClient(MOBILE);
    await stack.addClient(BACKEND);
    await stack.cliOk(['client', 'add', '--id', ES256.id, '--name', ES256.name, '--secret-file', secretFile(ES256),
      '--redirect-uri', ES256.redirectUris[0], '--id-token-alg', 'ES256', '--userinfo-signed']);
    [julie, thomas, helene] = await Promise.all([
      stack.activate(PERSONAS.julie), stack.activate(PERSONAS.thomas), stack.activate(PERSONAS.helene),
    ]);
    registry = JSON.parse(await stack.cliOk(['registry', 'get', PERSONAS.julie.rpps]));
  });

  after(async () => {
    await stack?.stop();
  });

  function secretFile(c) {
    const f = path.join(stack.dir, `secret-${c.id}`);
    fs.writeFileSync(f, `${c.secret}\n`, { mode: 0o600 });
    return f;
  }

  /** A fresh code flow of `config` in `agent`: resolves {tokens, nonce, state, callback, login}. */
  async function codeFlow(config, agent, { redirectUri, phone = julie, identifier = PERSONAS.julie.rpps, extra = {} } = {}) {
    const verifier = client.randomPKCECodeVerifier();
    const nonce = crypto.randomBytes(32).toString('hex'); // 64 hex chars, as PSC relying parties send
    const state = client.randomState();
    const authUrl = client.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: SCOPE,
      acr_values: 'eidas1',
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
      ...extra,
    });
    const login = await loginWithEcps(agent, authUrl, { redirectUri, identifier, phone });
    const callback = new URL(login.callback);
    const tokens = await client.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: verifier,
      expectedNonce: nonce,
      expectedState: state,
      idTokenExpected: true,
    });
    return { tokens, nonce, state, callback, login, verifier };
  }

  let first; // the first login of Julie with the web client, shared by the next tests
  const firstAgent = new HttpAgent();

  test('discovery: both documents, at the Keycloak layout, as PSC advertises', async () => {
    web = await client.discovery(new URL(stack.issuer), WEB.id, WEB.secret, client.ClientSecretBasic(WEB.secret), insecure);
    mobile = await client.discovery(new URL(stack.issuer), MOBILE.id, undefined, client.None(), insecure);
    backend = await client.discovery(new URL(stack.issuer), BACKEND.id, BACKEND.secret, client.ClientSecretBasic(BACKEND.secret), insecure);
    const m = web.serverMetadata();
    const p = `${stack.issuer}/protocol/openid-connect`;
    assert.equal(m.issuer, stack.issuer);
    assert.equal(m.authorization_endpoint.split('?')[0].startsWith('http'), true);
    assert.equal(m.token_endpoint, `${p}/token`);
    assert.equal(m.userinfo_endpoint, `${p}/userinfo`);
    assert.equal(m.jwks_uri, `${p}/certs`);
    assert.equal(m.end_session_endpoint, `${p}/logout`);
    assert.equal(m.introspection_endpoint, `${p}/token/introspect`);
    assert.equal(m.revocation_endpoint, `${p}/revoke`);
    assert.equal(m.backchannel_authentication_endpoint, `${p}/ext/ciba/auth`);
    for (const g of ['authorization_code', 'refresh_token', 'client_credentials', 'urn:openid:params:grant-type:ciba']) {
      assert.ok(m.grant_types_supported?.includes(g), `grant_types_supported has ${g}: ${m.grant_types_supported}`);
    }
    assert.ok(m.backchannel_token_delivery_modes_supported?.includes('poll'));
    assert.ok(m.code_challenge_methods_supported?.includes('S256'));
    assert.equal(m.authorization_response_iss_parameter_supported, true);
    assert.equal(m.backchannel_logout_supported, true);
    for (const a of ['client_secret_basic', 'client_secret_post', 'private_key_jwt']) {
      assert.ok(m.token_endpoint_auth_methods_supported?.includes(a), `token_endpoint_auth_methods_supported has ${a}`);
    }
    for (const s of ['openid', 'scope_all']) assert.ok(m.scopes_supported?.includes(s), `scopes_supported has ${s}`);
    assert.ok(m.id_token_signing_alg_values_supported?.includes('RS256'));

    // The document PSC clients actually fetch says the same.
    const wallet = await (await fetch(`${stack.issuer}/.well-known/wallet-openid-configuration`)).json();
    assert.equal(wallet.issuer, m.issuer);
    assert.equal(wallet.token_endpoint, m.token_endpoint);
    assert.equal(wallet.jwks_uri, m.jwks_uri);

    const res = await fetch(m.jwks_uri);
    assert.equal(res.status, 200);
    jwks = await res.json();
    const rsa = jwks.keys.filter((k) => k.kty === 'RSA');
    assert.ok(rsa.length >= 1, 'an RSA key in the JWKS');
    for (const k of jwks.keys) {
      assert.ok(k.kid, 'every key has a kid');
      assert.equal(k.d, undefined, 'no private part in the JWKS');
    }
  });

  test('code flow with PKCE S256, nonce and state: login page, e-CPS approval, tokens validated by openid-client', async () => {
    first = await codeFlow(web, firstAgent, { redirectUri: WEB.redirectUris[0] });
    const { tokens, nonce, callback, login } = first;
    assert.equal(login.sso, false);
    // The authorization response carries iss (RFC 9207), checked by openid-client too.
    assert.equal(callback.searchParams.get('iss'), stack.issuer);

    const id = tokens.claims();
    assert.equal(id.iss, stack.issuer);
    assert.ok([id.aud].flat().includes(WEB.id));
    assert.equal(id.nonce, nonce);
    assert.equal(id.acr, 'eidas1', 'ID token acr must be eidas1 (the published Keycloak connector rejects others)');
    assert.ok(Array.isArray(id.amr) && id.amr.length > 0, `amr: ${JSON.stringify(id.amr)}`);
    assert.equal(typeof id.auth_time, 'number');
    assert.ok(Math.abs(id.auth_time - Date.now() / 1000) < 120, 'auth_time is now');
    assert.equal(typeof id.sid, 'string');
    assert.match(id.sub, /^f:[0-9a-f-]{36}:819999900012$/, 'sub in PSC\'s federated form f:<uuid>:<idNat>');
    assert.equal(decodeJwt(tokens.id_token).header.alg, 'RS256');

    assert.equal(tokens.token_type.toLowerCase(), 'bearer');
    assert.equal(tokens.expires_in, 120, 'access tokens live 120 s as PSC');
    assert.ok(tokens.refresh_token, 'a refresh token');
  });

  test('access token: an RS256 JWT from the JWKS carrying the nonce, azp, scope, authMode, otherIds, preferred_username', async () => {
    const { tokens, nonce } = first;
    const keys = jose.createRemoteJWKSet(new URL(web.serverMetadata().jwks_uri));
    const { payload, protectedHeader } = await jose.jwtVerify(tokens.access_token, keys, {
      issuer: stack.issuer,
      algorithms: ['RS256'],
    });
    assert.ok(protectedHeader.kid);
    const id = tokens.claims();
    assert.equal(payload.nonce, nonce, 'the nonce is in the access token too (a published PSC relying party checks both)');
    assert.equal(payload.sub, id.sub);
    assert.equal(payload.azp, WEB.id);
    assert.equal(payload.typ, 'Bearer');
    assert.equal(payload.acr, 'eidas1');
    assert.equal(payload.sid, id.sid);
    assert.equal(payload.preferred_username, PERSONAS.julie.idnat);
    assert.ok(String(payload.scope).split(' ').includes('openid'), `scope: ${payload.scope}`);
    assert.ok(String(payload.scope).split(' ').includes('scope_all'), `scope: ${payload.scope}`);
    assert.equal(payload.authMode, 'MOBILE', 'e-CPS logins are a mobile mode');
    assert.ok(Array.isArray(payload.otherIds) && payload.otherIds.length > 0, `otherIds: ${JSON.stringify(payload.otherIds)}`);
    assert.equal(payload.exp - payload.iat, 120);
  });

  test('userinfo (GET by openid-client, and POST): the registry data exactly as PSC shapes it', async () => {
    const { tokens } = first;
    const sub = tokens.claims().sub;
    const info = await client.fetchUserInfo(web, tokens.access_token, sub);
    for (const f of USERINFO_FIELDS) assert.ok(f in info, `userinfo has ${f}: ${JSON.stringify(Object.keys(info))}`);
    assert.equal(info.sub, sub);
    assert.equal(info.SubjectNameID, PERSONAS.julie.idnat);
    assert.equal(info.preferred_username, PERSONAS.julie.idnat);
    assert.equal(info.given_name.toLowerCase(), registry.firstName.toLowerCase());
    assert.equal(info.family_name.toLowerCase(), registry.lastName.toLowerCase());
    assert.equal(info.authMode, 'MOBILE');
    assert.ok(info.otherIds.some((o) => o.identifiant && o.origine), JSON.stringify(info.otherIds));
    assert.ok(Array.isArray(info.SubjectRole) && info.SubjectRole.every((r) => /^\d+\^[0-9.]+$/.test(r)),
      `SubjectRole is profession^OID: ${JSON.stringify(info.SubjectRole)}`);
    assert.ok(info.SubjectRole.some((r) => r.startsWith(`${registry.professions[0].profession.code}^`)));

    const ref = info.SubjectRefPro;
    assert.equal(typeof ref.codeCivilite, 'string');
    assert.ok(Array.isArray(ref.exercices) && ref.exercices.length > 0);
    for (const ex of ref.exercices) {
      for (const f of EXERCICE_FIELDS) assert.equal(typeof ex[f], 'string', `exercice.${f} is a string: ${JSON.stringify(ex)}`);
      assert.ok(Array.isArray(ex.activities) && ex.activities.length > 0, 'activities');
      for (const act of ex.activities) {
        for (const f of ACTIVITY_FIELDS) {
          assert.equal(typeof act[f], 'string', `activity.${f} present, a string (empty when unknown): ${JSON.stringify(act)}`);
        }
      }
    }
    const ex = ref.exercices.find((e) => e.codeProfession === registry.professions[0].profession.code);
    assert.ok(ex, `an exercice of profession ${registry.professions[0].profession.code}`);
    const wanted = registry.activities.filter((a) => a.active !== false);
    const acts = ref.exercices.flatMap((e) => e.activities);
    assert.equal(acts.length, wanted.length, 'one activity per active registry activity');
    const s = wanted[0].structure;
    const act = acts.find((a) => a.raisonSocialeSite === s.name);
    assert.ok(act, `an activity at ${s.name}: ${JSON.stringify(acts.map((a) => a.raisonSocialeSite))}`);
    assert.equal(act.numeroSiretSite, s.siret);
    assert.equal(act.codePostal, s.postcode);
    assert.equal(act.codeModeExercice, wanted[0].mode.code);
    assert.equal(info.SubjectOrganization, acts[0].raisonSocialeSite, 'SubjectOrganization = first activity\'s company name');
    assert.equal(info.SubjectOrganizationID, acts[0].identifiantTechniqueDeLaStructure);

    // POST works too, with the same answer.
    const res = await fetch(web.serverMetadata().userinfo_endpoint, {
      method: 'POST', headers: { authorization: `Bearer ${tokens.access_token}` },
    });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), JSON.parse(JSON.stringify(info)));

    // Without a token, or with a forged one: 401 with a WWW-Authenticate challenge.
    for (const auth of [undefined, `Bearer ${tokens.access_token.slice(0, -4)}AAAA`]) {
      const r = await fetch(web.serverMetadata().userinfo_endpoint, { headers: auth ? { authorization: auth } : {} });
      assert.equal(r.status, 401, `userinfo with ${auth ? 'a forged token' : 'no token'}`);
      assert.match(r.headers.get('www-authenticate') ?? '', /^Bearer/i);
    }
  });

  test('introspection: an active access token as PSC describes it; garbage is inactive; the caller must authenticate', async () => {
    const { tokens } = first;
    const r = await client.tokenIntrospection(web, tokens.access_token);
    assert.equal(r.active, true);
    assert.equal(r.client_id, WEB.id);
    assert.equal(r.username, PERSONAS.julie.idnat);
    assert.ok(String(r.scope).includes('openid'));
    assert.equal(r.acr, 'eidas1');
    assert.equal(r.authMode, 'MOBILE');
    assert.ok(Array.isArray(r.otherIds));
    assert.equal(r.SubjectNameID, PERSONAS.julie.idnat);

    const rt = await client.tokenIntrospection(web, tokens.refresh_token);
    assert.equal(rt.active, true, 'the refresh token is active');

    const junk = await client.tokenIntrospection(web, 'pas-un-jeton');
    assert.deepEqual(junk, { active: false });

    const anonymous = await fetch(web.serverMetadata().introspection_endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: tokens.access_token }),
    });
    assert.equal(anonymous.status, 401, 'introspection needs client authentication');
    const wrong = await fetch(web.serverMetadata().introspection_endpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${WEB.id}:not-the-secret`).toString('base64')}`,
      },
      body: new URLSearchParams({ token: tokens.access_token }),
    });
    assert.equal(wrong.status, 401, 'a wrong secret is refused');
  });

  test('the authorization code is single-use', async () => {
    const flow = await codeFlowWithSso(web, firstAgent, WEB.redirectUris[0]);
    await rejectsWith(client.authorizationCodeGrant(web, flow.callback, {
      pkceCodeVerifier: flow.verifier, expectedNonce: flow.nonce, expectedState: flow.state,
    }), 'invalid_grant');
  });

  test('PKCE: a wrong code_verifier is refused', async () => {
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const url = client.buildAuthorizationUrl(web, {
      redirect_uri: WEB.redirectUris[0], scope: SCOPE, state,
      code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
    });
    const { callback } = await startAuthorization(firstAgent, url, WEB.redirectUris[0]);
    assert.ok(callback, 'SSO');
    await rejectsWith(client.authorizationCodeGrant(web, new URL(callback), {
      pkceCodeVerifier: client.randomPKCECodeVerifier(), expectedState: state,
    }), 'invalid_grant');
  });

  test('refresh: rotation, the old refresh token refused, and its reuse revokes the whole family', async () => {
    const { tokens } = await codeFlowWithSso(web, firstAgent, WEB.redirectUris[0]);
    const rt1 = tokens.refresh_token;
    const second = await client.refreshTokenGrant(web, rt1);
    const rt2 = second.refresh_token;
    assert.ok(rt2 && rt2 !== rt1, 'a new refresh token at each use');
    assert.ok(second.access_token && second.access_token !== tokens.access_token);
    if (second.id_token) assert.equal(second.claims().sub, tokens.claims().sub);
    const at = decodeJwt(second.access_token).payload;
    assert.equal(at.sub, tokens.claims().sub);
    assert.equal(at.azp, WEB.id);

    // rt1 was used: refused, and that reuse revokes the family (rt2 and its access tokens).
    await rejectsWith(client.refreshTokenGrant(web, rt1), 'invalid_grant', 400);
    await rejectsWith(client.refreshTokenGrant(web, rt2), 'invalid_grant', 400);
    assert.equal((await client.tokenIntrospection(web, rt2)).active, false, 'rt2 inactive after the reuse of rt1');
  });

  test('refresh tokens are bound to their client', async () => {
    const { tokens } = await codeFlowWithSso(web, firstAgent, WEB.redirectUris[0]);
    await rejectsWith(client.refreshTokenGrant(mobile, tokens.refresh_token), 'invalid_grant');
    // The rightful client still can (a foreign attempt did not burn it).
    const ok = await client.refreshTokenGrant(web, tokens.refresh_token);
    assert.ok(ok.access_token);
  });

  test('revocation: a revoked refresh token is refused and inactive', async () => {
    const { tokens } = await codeFlowWithSso(web, firstAgent, WEB.redirectUris[0]);
    await client.tokenRevocation(web, tokens.refresh_token);
    await rejectsWith(client.refreshTokenGrant(web, tokens.refresh_token), 'invalid_grant');
    assert.equal((await client.tokenIntrospection(web, tokens.refresh_token)).active, false);
    // Revoking an unknown token is not an error (RFC 7009).
    await client.tokenRevocation(web, 'inconnu');
  });

  test('revocation of an access token: inactive at introspection and refused at userinfo', async () => {
    const { tokens } = await codeFlowWithSso(web, firstAgent, WEB.redirectUris[0]);
    await client.tokenRevocation(web, tokens.access_token, { token_type_hint: 'access_token' });
    assert.equal((await client.tokenIntrospection(web, tokens.access_token)).active, false);
    const r = await fetch(web.serverMetadata().userinfo_endpoint, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    assert.equal(r.status, 401);
  });

  test('client_credentials: an RS256 JWT access token for the service itself, no refresh token', async () => {
    const t = await client.clientCredentialsGrant(backend, {});
    assert.ok(t.access_token);
    assert.equal(t.refresh_token, undefined);
    assert.equal(t.id_token, undefined);
    const keys = jose.createRemoteJWKSet(new URL(backend.serverMetadata().jwks_uri));
    const { payload } = await jose.jwtVerify(t.access_token, keys, { issuer: stack.issuer, algorithms: ['RS256'] });
    assert.equal(payload.azp ?? payload.client_id, BACKEND.id);
    const r = await client.tokenIntrospection(backend, t.access_token);
    assert.equal(r.active, true);
    assert.equal(r.client_id, BACKEND.id);
    // A client without the grant is refused.
    await rejectsWith(client.clientCredentialsGrant(web, {}), 'unauthorized_client');
    // A wrong secret is refused with invalid_client.
    const wrong = await client.discovery(new URL(stack.issuer), BACKEND.id, 'faux', client.ClientSecretBasic('faux'), insecure);
    await rejectsWith(client.clientCredentialsGrant(wrong, {}), 'invalid_client', 401);
  });

  test('client_secret_post is accepted as well as client_secret_basic', async () => {
    const post = await client.discovery(new URL(stack.issuer), BACKEND.id, BACKEND.secret, client.ClientSecretPost(BACKEND.secret), insecure);
    const t = await client.clientCredentialsGrant(post, {});
    assert.ok(t.access_token);
  });

  test('SSO: a second client (public, PKCE) logs in without a second e-CPS approval while the session lives', async () => {
    const before = await requestCount();
    const verifier = client.randomPKCECodeVerifier();
    const nonce = client.randomNonce();
    const state = client.randomState();
    const authUrl = client.buildAuthorizationUrl(mobile, {
      redirect_uri: MOBILE.redirectUris[0], scope: SCOPE, acr_values: 'eidas1', nonce, state,
      code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
    });
    const started = await startAuthorization(firstAgent, authUrl, MOBILE.redirectUris[0]);
    assert.ok(started.callback, `SSO: straight back to the client, not to ${started.loginPage?.url}`);
    const tokens = await client.authorizationCodeGrant(mobile, new URL(started.callback), {
      pkceCodeVerifier: verifier, expectedNonce: nonce, expectedState: state,
    });
    const id = tokens.claims();
    assert.equal(id.sub, first.tokens.claims().sub);
    assert.equal(id.sid, first.tokens.claims().sid, 'the same browser session');
    assert.equal(id.auth_time, first.tokens.claims().auth_time, 'auth_time is the time of the e-CPS login');
    assert.equal(id.acr, 'eidas1');
    assert.equal(await requestCount(), before, 'no new e-CPS request');

    // A public client must use PKCE.
    const noPkce = client.buildAuthorizationUrl(mobile, { redirect_uri: MOBILE.redirectUris[0], scope: SCOPE, state, nonce });
    const r = await firstAgent.get(noPkce);
    assert.ok([302, 303].includes(r.status) && isCallback(r.location, MOBILE.redirectUris[0]), `redirect with an error: ${r.status} ${r.location}`);
    assert.equal(new URL(r.location).searchParams.get('error'), 'invalid_request');
    assert.equal(new URL(r.location).searchParams.get('state'), state);
  });

  test('prompt=login asks the login page again despite the SSO session', async () => {
    const url = client.buildAuthorizationUrl(web, {
      redirect_uri: WEB.redirectUris[0], scope: SCOPE, prompt: 'login', state: client.randomState(), nonce: client.randomNonce(),
      code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()), code_challenge_method: 'S256',
    });
    const started = await startAuthorization(firstAgent, url, WEB.redirectUris[0]);
    assert.ok(started.loginPage, `the login page, not ${started.callback}`);
  });

  test('authorization errors: unknown redirect_uri is a French page (never a redirect); bad parameters go back with error, state and iss', async () => {
    const agent = new HttpAgent();
    const state = client.randomState();
    const bad = client.buildAuthorizationUrl(web, { redirect_uri: `${RP}/evil`, scope: SCOPE, state });
    const r = await agent.get(bad);
    assert.equal(r.status, 400, 'unregistered redirect_uri: 400 page');
    assert.equal(r.location, undefined);
    assert.match(r.text, /lang="fr"/);
    const unknown = await agent.get(client.buildAuthorizationUrl(web, { redirect_uri: WEB.redirectUris[0], scope: SCOPE, state, client_id: 'inconnu' }));
    assert.equal(unknown.status, 400, 'unknown client: 400 page');

    const noOpenid = await agent.get(client.buildAuthorizationUrl(web, { redirect_uri: WEB.redirectUris[0], scope: 'profile', state, response_type: 'token' }));
    assert.ok([302, 303].includes(noOpenid.status), `unsupported response_type: redirect, got ${noOpenid.status}`);
    const q = new URL(noOpenid.location).searchParams;
    assert.equal(q.get('error'), 'unsupported_response_type');
    assert.equal(q.get('state'), state);
    assert.equal(q.get('iss'), stack.issuer);
  });

  test('login page: an unknown professional gets a French alert, not a waiting page', async () => {
    const agent = new HttpAgent();
    const url = client.buildAuthorizationUrl(web, {
      redirect_uri: WEB.redirectUris[0], scope: SCOPE, state: client.randomState(), nonce: client.randomNonce(),
      code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()), code_challenge_method: 'S256',
    });
    const { loginPage } = await startAuthorization(agent, url, WEB.redirectUris[0]);
    const unknown = await submitIdentifier(agent, loginPage, '10000000009'); // valid check digit, not in the registry
    assert.notEqual(unknown.status, 303, 'no waiting page for an unknown professional');
    const msg = alerts(unknown.text).join(' ');
    assert.ok(msg.length > 0, `a role="alert" message:\n${unknown.text.slice(0, 2000)}`);
    const notActivated = await submitIdentifier(agent, loginPage, PERSONAS.camille.rpps);
    assert.notEqual(notActivated.status, 303, 'no waiting page without an activated e-CPS');
    assert.match(alerts(notActivated.text).join(' '), /activ/i, 'says the e-CPS is not activated and how to activate it');
    // Without the csrf field the form is refused.
    const form = { identifier: PERSONAS.julie.rpps, identifier_type: 'rpps' };
    const forged = await agent.post(loginPage.url, form);
    assert.ok(forged.status >= 400, `POST without csrf refused, got ${forged.status}`);
  });

  test('RP-initiated logout: end session with id_token_hint and post_logout_redirect_uri, then the SSO session is gone', async () => {
    // A session of its own, so that the other tests keep theirs.
    const agent = new HttpAgent();
    const { tokens } = await codeFlow(web, agent, { redirectUri: WEB.redirectUris[0] });
    const oldCookies = new Map(agent.cookies);
    const state = client.randomState();
    const endUrl = client.buildEndSessionUrl(web, {
      id_token_hint: tokens.id_token, post_logout_redirect_uri: WEB.postLogoutRedirectUris[0], state,
    });
    const r = await agent.get(endUrl);
    assert.ok([302, 303].includes(r.status), `redirect after logout, got ${r.status}: ${r.text.slice(0, 500)}`);
    const back = new URL(r.location);
    assert.equal(`${back.origin}${back.pathname}`, WEB.postLogoutRedirectUris[0]);
    assert.equal(back.searchParams.get('state'), state);

    // A new authorization asks the login page again, even with the old cookie replayed.
    const again = async (a) => startAuthorization(a, client.buildAuthorizationUrl(web, {
      redirect_uri: WEB.redirectUris[0], scope: SCOPE, state: client.randomState(), nonce: client.randomNonce(),
      code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()), code_challenge_method: 'S256',
    }), WEB.redirectUris[0]);
    assert.ok((await again(agent)).loginPage, 'login page after logout');
    const replay = new HttpAgent();
    replay.cookies = oldCookies;
    assert.ok((await again(replay)).loginPage, 'the old session cookie no longer logs in (session ended server-side)');

    // An unregistered post_logout_redirect_uri is not followed.
    const evil = client.buildEndSessionUrl(web, { id_token_hint: tokens.id_token, post_logout_redirect_uri: `${RP}/evil` });
    const e = await new HttpAgent().get(evil);
    assert.ok(!e.location || !e.location.startsWith(`${RP}/evil`), `never redirects to an unregistered URI: ${e.location}`);
  });

  test('RP-initiated logout also ends the refresh tokens of that session (as Keycloak does)', async () => {
    const agent = new HttpAgent();
    const { tokens } = await codeFlow(web, agent, { redirectUri: WEB.redirectUris[0] });
    await agent.get(client.buildEndSessionUrl(web, { id_token_hint: tokens.id_token, post_logout_redirect_uri: WEB.postLogoutRedirectUris[0] }));
    await rejectsWith(client.refreshTokenGrant(web, tokens.refresh_token), 'invalid_grant');
  });

  test('max_age=0 asks the login page again, even right after a login; login_hint fills the identifier in', async () => {
    const url = async (extra) => client.buildAuthorizationUrl(web, {
      redirect_uri: WEB.redirectUris[0], scope: SCOPE, state: client.randomState(), nonce: client.randomNonce(),
      code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()), code_challenge_method: 'S256',
      ...extra,
    });
    // Right after a login (same second): max_age=0 is prompt=login (OIDC Core errata 2, §3.1.2.1).
    const fresh = new HttpAgent();
    await codeFlow(web, fresh, { redirectUri: WEB.redirectUris[0] });
    const aged = await startAuthorization(fresh, await url({ max_age: '0' }), WEB.redirectUris[0]);
    assert.ok(aged.loginPage, `max_age=0: the login page, not ${aged.callback}`);
    const hinted = await startAuthorization(new HttpAgent(), await url({ login_hint: PERSONAS.thomas.rpps }), WEB.redirectUris[0]);
    assert.ok(hinted.loginPage);
    assert.equal(loginForm(hinted.loginPage).fields.identifier, PERSONAS.thomas.rpps, 'login_hint fills the identifier in');
  });

  test('acr_values=eidas2 (older PSC clients) is accepted and answered with acr eidas1', async () => {
    const { tokens } = await codeFlowWithSso(web, firstAgent, WEB.redirectUris[0], { acr_values: 'eidas2' });
    assert.equal(tokens.claims().acr, 'eidas1');
  });

  test('redirect URIs match exactly: a trailing slash or an extra query is refused with a page', async () => {
    for (const uri of [`${WEB.redirectUris[0]}/`, `${WEB.redirectUris[0]}?x=1`, WEB.redirectUris[0].toUpperCase()]) {
      const r = await new HttpAgent().get(client.buildAuthorizationUrl(web, { redirect_uri: uri, scope: SCOPE, state: 'x' }));
      assert.equal(r.status, 400, `${uri}: 400 page, got ${r.status} ${r.location ?? ''}`);
    }
  });

  test('a client configured so gets ES256 ID tokens and a signed userinfo, validated by openid-client', async () => {
    const meta = web.serverMetadata();
    // The algorithm of its signed userinfo, as the server chose it among those it advertises.
    const probe = await client.discovery(new URL(stack.issuer), ES256.id, { client_secret: ES256.secret, id_token_signed_response_alg: 'ES256' },
      client.ClientSecretBasic(ES256.secret), insecure);
    const { tokens } = await codeFlowWithSso(probe, firstAgent, ES256.redirectUris[0]);
    assert.equal(decodeJwt(tokens.id_token).header.alg, 'ES256');
    const raw = await fetch(meta.userinfo_endpoint, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    assert.equal(raw.status, 200);
    assert.match(raw.headers.get('content-type') ?? '', /^application\/jwt/);
    const alg = decodeJwt(await raw.text()).header.alg;
    assert.ok(meta.userinfo_signing_alg_values_supported?.includes(alg), `userinfo signed with an advertised alg: ${alg}`);
    const es = await client.discovery(new URL(stack.issuer), ES256.id,
      { client_secret: ES256.secret, id_token_signed_response_alg: 'ES256', userinfo_signed_response_alg: alg },
      client.ClientSecretBasic(ES256.secret), insecure);
    const info = await client.fetchUserInfo(es, tokens.access_token, tokens.claims().sub);
    assert.equal(info.SubjectNameID, PERSONAS.julie.idnat);
    assert.ok(info.SubjectRefPro?.exercices?.length > 0);
  });

  test('private_key_jwt: a client authenticating with its own key (JWKS file)', async () => {
    const { privateKey, publicKey } = await jose.generateKeyPair('ES256', { extractable: true });
    const jwk = { ...(await jose.exportJWK(publicKey)), kid: 'pkjwt-1', alg: 'ES256', use: 'sig' };
    const jwksFile = path.join(stack.dir, 'pkjwt-jwks.json');
    fs.writeFileSync(jwksFile, JSON.stringify({ keys: [jwk] }));
    await stack.cliOk(['client', 'add', '--id', 'pkjwt-svc', '--name', 'Service à clé', '--jwks-file', jwksFile, '--grant', 'client_credentials']);
    const pk = await client.discovery(new URL(stack.issuer), 'pkjwt-svc', {}, client.PrivateKeyJwt({ key: privateKey, kid: 'pkjwt-1' }), insecure);
    const t = await client.clientCredentialsGrant(pk, {});
    assert.equal(decodeJwt(t.access_token).payload.azp ?? decodeJwt(t.access_token).payload.client_id, 'pkjwt-svc');
    // A key the client did not register is refused.
    const other = await jose.generateKeyPair('ES256');
    const forged = await client.discovery(new URL(stack.issuer), 'pkjwt-svc', {}, client.PrivateKeyJwt({ key: other.privateKey, kid: 'pkjwt-1' }), insecure);
    await rejectsWith(client.clientCredentialsGrant(forged, {}), 'invalid_client');
  });

  test('a client removed while the server runs is refused within the client cache lifetime (client_cache_secs, 2 s)', async () => {
    const temp = { id: 'temp-svc', name: 'Service temporaire', secret: `t-${crypto.randomBytes(24).toString('hex')}`, grants: ['client_credentials'] };
    await stack.addClient(temp);
    const cfg = await client.discovery(new URL(stack.issuer), temp.id, temp.secret, client.ClientSecretBasic(temp.secret), insecure);
    assert.ok((await client.clientCredentialsGrant(cfg, {})).access_token, 'usable at once after client add');
    await stack.cliOk(['client', 'remove', temp.id]);
    const t0 = Date.now();
    await eventually('the removed client refused', async () => {
      try {
        await client.clientCredentialsGrant(cfg, {});
        return undefined;
      } catch (e) {
        return e instanceof client.WWWAuthenticateChallengeError || e instanceof client.ResponseBodyError;
      }
    }, { timeoutMs: 5000, everyMs: 200 });
    assert.ok(Date.now() - t0 < 3500, `refused after ${Date.now() - t0} ms`);
    await rejectsWith(client.clientCredentialsGrant(cfg, {}), 'invalid_client', 401);
  });

  test('back-channel logout: the end of the session is POSTed to the client as a signed logout_token', async () => {
    const received = [];
    const listener = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d) => { body += d; });
      req.on('end', () => { received.push({ url: req.url, type: req.headers['content-type'], body }); res.writeHead(200).end(); });
    });
    listener.listen(0, '127.0.0.1');
    await once(listener, 'listening');
    try {
      const bcl = {
        id: 'bcl-rp', name: 'Application à déconnexion back-channel', secret: `bcl-${crypto.randomBytes(24).toString('hex')}`,
        redirectUris: [`${RP}/bcl/callback`], postLogoutRedirectUris: [`${RP}/bcl/bye`],
      };
      await stack.cliOk(['client', 'add', '--id', bcl.id, '--name', bcl.name, '--secret-file', secretFile(bcl),
        '--redirect-uri', bcl.redirectUris[0], '--post-logout-redirect-uri', bcl.postLogoutRedirectUris[0],
        '--backchannel-logout-uri', `http://127.0.0.1:${listener.address().port}/backchannel-logout`]);
      const cfg = await client.discovery(new URL(stack.issuer), bcl.id, bcl.secret, client.ClientSecretBasic(bcl.secret), insecure);
      const agent = new HttpAgent();
      const { tokens } = await codeFlow(cfg, agent, { redirectUri: bcl.redirectUris[0] });
      await agent.get(client.buildEndSessionUrl(cfg, { id_token_hint: tokens.id_token, post_logout_redirect_uri: bcl.postLogoutRedirectUris[0] }));
      const msg = await eventually('the back-channel logout request', () => received[0], { timeoutMs: 15_000 });
      assert.equal(msg.url, '/backchannel-logout');
      assert.match(msg.type ?? '', /application\/x-www-form-urlencoded/);
      const logoutToken = new URLSearchParams(msg.body).get('logout_token');
      const { payload, protectedHeader } = await jose.jwtVerify(logoutToken, jose.createRemoteJWKSet(new URL(cfg.serverMetadata().jwks_uri)), {
        issuer: stack.issuer, audience: bcl.id,
      });
      assert.equal(protectedHeader.typ, 'logout+jwt', 'typ logout+jwt (OIDC Back-Channel Logout 1.0 §2.4)');
      assert.ok(payload.events?.['http://schemas.openid.net/event/backchannel-logout'], 'the back-channel logout event');
      assert.equal(payload.sid, tokens.claims().sid);
      assert.equal(payload.sub, tokens.claims().sub);
      assert.equal(payload.nonce, undefined, 'no nonce in a logout token');
      assert.ok(payload.jti && payload.iat);
    } finally {
      listener.closeAllConnections?.();
      listener.close();
    }
  });

  test('CIBA poll mode: login_hint + binding_message, authorization_pending, then tokens after the phone approves', async () => {
    const binding = '42';
    const started = await client.initiateBackchannelAuthentication(backend, {
      scope: SCOPE, acr_values: 'eidas1', login_hint: PERSONAS.thomas.idnat, binding_message: binding,
    });
    assert.ok(started.auth_req_id);
    assert.equal(started.expires_in, 120);
    assert.ok(Number.isInteger(started.interval) && started.interval >= 1, `interval: ${started.interval}`);

    await rejectsWith(client.genericGrantRequest(backend, 'urn:openid:params:grant-type:ciba', { auth_req_id: started.auth_req_id }),
      'authorization_pending', 400);

    await thomas.approveOk(binding);
    const tokens = await client.pollBackchannelAuthenticationGrant(backend, started);
    const id = tokens.claims();
    assert.equal(id.acr, 'eidas1');
    assert.match(id.sub, /:819999900020$/);
    assert.ok([id.aud].flat().includes(BACKEND.id));
    const at = decodeJwt(tokens.access_token).payload;
    assert.equal(at.preferred_username, PERSONAS.thomas.idnat);
    assert.equal(at.azp, BACKEND.id);
    const info = await client.fetchUserInfo(backend, tokens.access_token, id.sub);
    assert.equal(info.SubjectNameID, PERSONAS.thomas.idnat);

    // The auth_req_id is spent.
    await assert.rejects(client.genericGrantRequest(backend, 'urn:openid:params:grant-type:ciba', { auth_req_id: started.auth_req_id }),
      (e) => ['invalid_grant', 'expired_token'].includes(e.error));
  });

  test('CIBA: polling faster than the interval gives slow_down', async () => {
    // Hélène's request is never answered: it only expires (her phone approves nothing).
    const started = await client.initiateBackchannelAuthentication(backend, {
      scope: SCOPE, acr_values: 'eidas1', login_hint: PERSONAS.helene.idnat, binding_message: '64',
    });
    const poll = () => client.genericGrantRequest(backend, 'urn:openid:params:grant-type:ciba', { auth_req_id: started.auth_req_id });
    await rejectsWith(poll(), 'authorization_pending', 400);
    await rejectsWith(poll(), 'slow_down', 400);
    assert.ok(helene, 'Hélène has an e-CPS (else the request would have been refused)');
  });

  test('CIBA: a wrong pick on the phone gives access_denied', async () => {
    const started = await client.initiateBackchannelAuthentication(backend, {
      scope: SCOPE, acr_values: 'eidas1', login_hint: PERSONAS.thomas.idnat, binding_message: '17',
    });
    const wrong = await wrongChoice(PERSONAS.thomas.idnat, '17');
    await thomas.approve(wrong, { wait: 10 });
    await assert.rejects(client.pollBackchannelAuthenticationGrant(backend, started),
      (e) => { assert.equal(e.error, 'access_denied'); return true; });
  });

  test('CIBA: an unknown professional is refused at once', async () => {
    await assert.rejects(client.initiateBackchannelAuthentication(backend, {
      scope: SCOPE, acr_values: 'eidas1', login_hint: '810000000009', binding_message: '11',
    }), (e) => ['unknown_user_id', 'invalid_request'].includes(e.error));
  });

  test('key rotation: the old key stays in the JWKS for its tokens, new tokens are signed with the new key', async () => {
    const meta = web.serverMetadata();
    const before = await codeFlowWithSso(web, firstAgent, WEB.redirectUris[0]);
    const oldKid = decodeJwt(before.tokens.access_token).header.kid;
    await stack.cliOk(['keys', 'rotate', '--alg', 'RS256', '--now']);
    const jwksAfter = await eventually('a second RS256 key in the JWKS', async () => {
      const j = await (await fetch(meta.jwks_uri)).json();
      return j.keys.filter((k) => k.kty === 'RSA').length >= 2 ? j : undefined;
    }, { timeoutMs: 15_000 });
    assert.ok(jwksAfter.keys.some((k) => k.kid === oldKid), 'the old key is still published');
    // Tokens signed before the rotation still verify, and still work.
    await jose.jwtVerify(before.tokens.access_token, jose.createLocalJWKSet(jwksAfter), { issuer: stack.issuer });
    assert.equal((await client.tokenIntrospection(web, before.tokens.access_token)).active, true);
    // New tokens: the new key (openid-client fetches the JWKS again for the unknown kid).
    const after = await eventually('a token signed with the new key', async () => {
      const f = await codeFlowWithSso(web, firstAgent, WEB.redirectUris[0]);
      return decodeJwt(f.tokens.id_token).header.kid !== oldKid ? f : undefined;
    }, { timeoutMs: 15_000, everyMs: 1000 });
    assert.ok(jwksAfter.keys.some((k) => k.kid === decodeJwt(after.tokens.id_token).header.kid));
    assert.equal(after.tokens.claims().acr, 'eidas1');
  });

  // ---------------------------------------------------------------- helpers using the stack

  /** Another code flow in an agent that holds a live session (no e-CPS approval). */
  async function codeFlowWithSso(config, agent, redirectUri, extra = {}) {
    return codeFlow(config, agent, {
      redirectUri,
      extra,
      phone: { approveOk: () => { throw new Error('SSO expected: the login page was shown'); } },
    });
  }

  /** Number of e-CPS requests created so far (from the database, read with sqlite3). */
  async function requestCount() {
    const r = await sqlite(`SELECT count(*) FROM ecps_request`);
    return Number(r.trim());
  }

  /** One of the three choices of the pending request that is not the right code. */
  async function wrongChoice(idnat, right) {
    return eventually('a pending e-CPS request', async () => {
      const out = await sqlite(`SELECT choices FROM ecps_request WHERE idnat = '${idnat}' AND status = 'pending' ORDER BY created_at DESC LIMIT 1`);
      const choices = out.match(/\d{2}/g) ?? [];
      return choices.find((c) => c !== right);
    }, { timeoutMs: 5000 });
  }

  async function sqlite(sql) {
    const r = await run('sqlite3', [stack.databaseUrl.replace('sqlite://', ''), sql]);
    if (r.code !== 0) throw new Error(`sqlite3: ${r.stderr}`);
    return r.stdout;
  }
});
