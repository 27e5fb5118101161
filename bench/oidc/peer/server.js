// The peer of bench/oidc: oidc-provider (the certified Node.js OpenID provider) configured as
// close as it allows to what caducee does for the benchmarked requests.
//
//   PORT=… KEY_FILE=rsa.jwk.json CLIENT_SECRET=… [WORKERS=2] [REDIS_URL=redis://127.0.0.1:6379/0] node server.js
//
// - one confidential client `bench` (client_secret_basic) with authorization_code,
//   refresh_token and client_credentials;
// - RS256 everywhere, with one RSA-2048 key read from KEY_FILE (a private JWK), so that every
//   worker of a cluster signs with the same key;
// - access tokens for the resource `urn:caducee:bench` are RS256 JWTs (resourceIndicators
//   with accessTokenFormat 'jwt'); client_credentials gets that resource by default; the
//   authorization code flow asks for it explicitly when the benchmark wants JWT access tokens;
// - refresh tokens issued without offline_access and rotated at every use (as caducee, and
//   Keycloak with "revoke refresh token"); a consumed refresh token presented again revokes
//   the grant (oidc-provider's own reuse detection);
// - introspection and revocation enabled; devInteractions (its built-in login/consent pages,
//   any login accepted) to obtain real codes and refresh tokens through a real code flow;
// - userinfo answers a PSC-shaped document kept in memory (the same shape and size as the
//   one caducee builds from its registry for Julie Martin);
// - storage: its default in-memory adapter in one process; with WORKERS > 1 (node:cluster)
//   the workers must share state, so REDIS_URL is required and a Redis adapter is used.

import cluster from 'node:cluster';
import fs from 'node:fs';
import process from 'node:process';
import Provider from 'oidc-provider';

const PORT = Number(process.env.PORT || 3000);
const ISSUER = process.env.ISSUER || `http://127.0.0.1:${PORT}`;
const WORKERS = Number(process.env.WORKERS || 1);
const RESOURCE = 'urn:caducee:bench';
const PREFIX = process.env.REDIS_PREFIX || 'caducee-bench-oidc:';

async function startProvider() {
  const key = JSON.parse(fs.readFileSync(process.env.KEY_FILE, 'utf8'));
  const adapter = process.env.REDIS_URL ? await redisAdapter(process.env.REDIS_URL) : undefined;

  const provider = new Provider(ISSUER, {
    ...(adapter ? { adapter } : {}),
    clients: [{
      client_id: 'bench',
      client_secret: process.env.CLIENT_SECRET,
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
      response_types: ['code'],
      redirect_uris: ['http://127.0.0.1:9/cb'],
      id_token_signed_response_alg: 'RS256',
    }],
    jwks: { keys: [{ ...key, use: 'sig', alg: 'RS256' }] },
    cookies: { keys: ['caducee-bench-cookie-key-1', 'caducee-bench-cookie-key-2'] },
    scopes: ['openid', 'offline_access', 'scope_all'],
    claims: { openid: ['sub'], scope_all: Object.keys(PSC_USERINFO).filter((c) => c !== 'sub') },
    findAccount: (ctx, id) => ({
      accountId: id,
      claims: () => ({ ...PSC_USERINFO, sub: id }),
    }),
    features: {
      devInteractions: { enabled: true },
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      revocation: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: (ctx, client, oneOf) => {
          if (oneOf) return oneOf;
          if (ctx.oidc.route === 'token' && ctx.oidc.params?.grant_type === 'client_credentials') return RESOURCE;
          return undefined;
        },
        useGrantedResource: () => true,
        getResourceServerInfo: (ctx, resourceIndicator) => {
          if (resourceIndicator !== RESOURCE) throw new Provider.errors.InvalidTarget();
          return {
            scope: 'api',
            audience: RESOURCE,
            accessTokenTTL: 120,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'RS256' } },
          };
        },
      },
    },
    issueRefreshToken: (ctx, client) => client.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: () => true,
    ttl: {
      AccessToken: 120,
      ClientCredentials: 120,
      IdToken: 120,
      AuthorizationCode: 60,
      RefreshToken: 1800,
      Grant: 1800,
      Session: 1800,
      Interaction: 600,
    },
    enabledJWA: { idTokenSigningAlgValues: ['RS256'] },
  });
  provider.proxy = false;
  // Quiet: oidc-provider warns about development-only settings (devInteractions).
  provider.on('server_error', (ctx, err) => console.error('server_error', err));
  const server = provider.listen(PORT, '127.0.0.1');
  server.keepAliveTimeout = 65_000;
  server.on('listening', () => {
    if (!cluster.isWorker) console.log(`oidc-provider listening on ${ISSUER}`);
  });
  for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
}

// ----------------------------------------------------------------------------- Redis adapter
// oidc-provider's adapter interface (upsert, find, findByUid, findByUserCode, consume,
// destroy, revokeByGrantId) over Redis: one key per model instance with its TTL, a list of
// keys per grant for revokeByGrantId, a hash for the consumable models.
async function redisAdapter(url) {
  const { Redis } = await import('ioredis');
  const client = new Redis(url, { keyPrefix: PREFIX, enableAutoPipelining: true });
  const grantable = new Set(['AccessToken', 'AuthorizationCode', 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest']);
  const consumable = new Set(['AuthorizationCode', 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest']);
  const grantKey = (id) => `grant:${id}`;
  const uidKey = (uid) => `sessionUid:${uid}`;
  const userCodeKey = (code) => `userCode:${code}`;

  return class RedisAdapter {
    constructor(name) { this.name = name; }

    key(id) { return `${this.name}:${id}`; }

    async upsert(id, payload, expiresIn) {
      const key = this.key(id);
      const multi = client.multi();
      if (consumable.has(this.name)) multi.hset(key, { payload: JSON.stringify(payload) });
      else multi.set(key, JSON.stringify(payload));
      if (expiresIn) multi.expire(key, expiresIn);
      if (grantable.has(this.name) && payload.grantId) {
        const gk = grantKey(payload.grantId);
        multi.rpush(gk, key);
        const ttl = await client.ttl(gk);
        if (expiresIn > ttl) multi.expire(gk, expiresIn);
      }
      if (payload.userCode) multi.set(userCodeKey(payload.userCode), id, ...(expiresIn ? ['EX', expiresIn] : []));
      if (payload.uid) multi.set(uidKey(payload.uid), id, ...(expiresIn ? ['EX', expiresIn] : []));
      await multi.exec();
    }

    async find(id) {
      if (consumable.has(this.name)) {
        const data = await client.hgetall(this.key(id));
        if (!data || !data.payload) return undefined;
        const { payload, consumed } = data;
        return { ...JSON.parse(payload), ...(consumed ? { consumed: Number(consumed) } : {}) };
      }
      const data = await client.get(this.key(id));
      return data ? JSON.parse(data) : undefined;
    }

    async findByUid(uid) {
      const id = await client.get(uidKey(uid));
      return id ? this.find(id) : undefined;
    }

    async findByUserCode(userCode) {
      const id = await client.get(userCodeKey(userCode));
      return id ? this.find(id) : undefined;
    }

    async consume(id) {
      await client.hset(this.key(id), 'consumed', Math.floor(Date.now() / 1000));
    }

    async destroy(id) {
      await client.del(this.key(id));
    }

    async revokeByGrantId(grantId) {
      const gk = grantKey(grantId);
      // Keys in the list carry the prefix already added by ioredis: strip it.
      const keys = (await client.lrange(gk, 0, -1)).map((k) => (k.startsWith(PREFIX) ? k.slice(PREFIX.length) : k));
      const multi = client.multi();
      for (const k of keys) multi.del(k);
      multi.del(gk);
      await multi.exec();
    }
  };
}

// A PSC userinfo (reference/psc.md), of the size caducee returns for one professional with
// one activity.
const PSC_USERINFO = {
  sub: '',
  preferred_username: '819999900012',
  SubjectNameID: '819999900012',
  given_name: 'Julie',
  family_name: 'Martin',
  email_verified: false,
  authMode: 'MOBILE',
  otherIds: [{ identifiant: '19999900012', origine: 'RPPS', qualite: 1 }],
  SubjectRole: ['10^1.2.250.1.213.1.1.5.5'],
  SubjectOrganization: 'CABINET DU DR MARTIN JULIE',
  SubjectOrganizationID: 'C79999001500015',
  Secteur_Activite: 'SA07^1.2.250.1.71.4.2.4',
  Palier_Authentification: 'APPPRIP3^1.2.250.1.213.1.5.1.1.1',
  PSI_Locale: '1.2.250.1.213.1.3.1.1',
  UITVersion: '1.0',
  Mode_Acces_Raison: '',
  Acces_Regulation_Medicale: 'FAUX',
  codeCivilite: 'MME',
  codeGenreActivite: 'GENR01',
  SubjectRefPro: {
    codeCivilite: 'MME',
    exercices: [{
      codeProfession: '10',
      codeCategorieProfessionnelle: 'C',
      codeCiviliteDexercice: 'DR',
      nomDexercice: 'Martin',
      prenomDexercice: 'Julie',
      codeTypeSavoirFaire: 'S',
      codeSavoirFaire: 'SM54',
      activities: [{
        codeModeExercice: 'L', codeSecteurDactivite: 'SA07', codeSectionPharmacien: '', codeRole: 'FON-01',
        codeGenreActivite: 'GENR01', numeroSiretSite: '79999001500015', numeroSirenSite: '799990015',
        numeroFinessSite: '', numeroFinessetablissementJuridique: '', identifiantTechniqueDeLaStructure: 'C79999001500015',
        raisonSocialeSite: 'CABINET DU DR MARTIN JULIE', enseigneCommercialeSite: '', complementDestinataire: '',
        complementPointGeographique: '', numeroVoie: '12', indiceRepetitionVoie: '', codeTypeDeVoie: 'R',
        libelleVoie: 'Victor Hugo', mentionDistribution: '', bureauCedex: '69003 Lyon', codePostal: '69003',
        codeCommune: '69383', codePays: '', telephone: '0478123456', telephone2: '', telecopie: '', adresseEMail: '',
        codeDepartement: '69', ancienIdentifiantDeLaStructure: '', autoriteDenregistrement: 'CNOM/CNOM/CNOM',
      }],
    }],
  },
};

if (WORKERS > 1 && cluster.isPrimary) {
  if (!process.env.REDIS_URL) {
    console.error('WORKERS > 1 needs REDIS_URL: the workers of a cluster must share their state');
    process.exit(2);
  }
  for (let i = 0; i < WORKERS; i++) cluster.fork();
  let listening = 0;
  cluster.on('listening', () => {
    listening += 1;
    if (listening === WORKERS) console.log(`oidc-provider cluster of ${WORKERS} workers listening on ${ISSUER}`);
  });
  cluster.on('exit', (w, code, signal) => {
    if (!shuttingDown) {
      console.error(`worker ${w.process.pid} died (${signal || code})`);
      process.exit(1);
    }
  });
  let shuttingDown = false;
  for (const sig of ['SIGTERM', 'SIGINT']) {
    process.on(sig, () => {
      shuttingDown = true;
      for (const w of Object.values(cluster.workers)) w.process.kill('SIGTERM');
      setTimeout(() => process.exit(0), 500);
    });
  }
} else {
  await startProvider();
}

