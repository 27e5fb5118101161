// Browser journeys of eRPPS (/erpps, seeds erpps-portail-aide-connexion.txt and
// rpps-coordonnees-carte-cps.txt), each on a desktop window and on a 390×844 phone, in
// Debian's Chromium driven by playwright-core: the landing ("Bienvenue sur le portail
// d'enregistrement eRPPS…" and its entries), the login by Pro Santé Connect (the e-CPS
// approved with the authenticator CLI), the coordinates checked at the first login, the home
// "Que souhaitez-vous faire ?", a new activity declared in two steps (the French errors of an
// empty step first), sent, followed on "Consulter ma demande en cours", approved by the
// agency at /ars, and in "Voir mes activités professionnelles" once the propagation delay
// (5 s here) has passed, and in the Pro Santé Connect userinfo claims of a relying party
// (openid-client: code flow with PKCE, the claims read from the registry; not there before
// the decision) (ERPPS-01, ERPPS-02, REG-06).
//
// Every page visited is saved under test-artefacts/erpps/ (gitignored) and audited: the
// accessibility basics and axe-core (WCAG 2.1 A/AA), no violation of impact serious or
// critical.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import * as client from 'openid-client';

import { HttpAgent, loginWithEcps } from '../lib/agent.js';
import { decideFirst, enrolAgent } from '../lib/ars.js';
import { launchChromium } from '../lib/browser.js';
import { pscLogin, runJourney } from '../lib/journeys.js';
import { eventually, PERSONAS, ROOT, startStack } from '../lib/stack.js';

const ARTEFACTS = path.join(ROOT, 'test-artefacts', 'erpps');
const PORTAL = '/erpps';
const DEVICES = ['desktop', 'phone'];
const WHO = { desktop: 'julie', phone: 'helene' };
// A structure the registry does not know yet, one per device (a SIRET the registry knows
// would name its own structure instead of the typed one).
const SIRET = { desktop: '73282932000074', phone: '44306184100047' };
// A relying party of Pro Santé Connect, for the userinfo claims (they read the registry).
const RP = {
  id: 'erpps-js-rp',
  name: 'Application de test des revendications',
  secret: `rp-${crypto.randomBytes(24).toString('hex')}`,
  redirectUris: ['http://127.0.0.1:9/rp/callback'],
  grants: ['authorization_code'],
};

// The seeds' words.
const SEED = {
  welcome: 'Bienvenue sur le portail d\'enregistrement eRPPS pour les Professionnels intervenant dans le système de santé',
  hasRpps: 'Vous avez déjà un numéro RPPS',
  noRpps: 'Vous n\'avez pas de numéro RPPS',
  noContact: 'Mes coordonnées ne sont pas renseignées, je peux mettre à jour via France Connect',
  home: 'Que souhaitez-vous faire ?',
  card: 'L\'adresse de correspondance est utilisée pour l\'envoi de la carte CPS',
  newActivity: 'Déclarer une nouvelle activité',
  requests: 'Consulter ma demande en cours',
};

describe('browser journeys of /erpps (seeds erpps-portail-aide-connexion.txt, rpps-coordonnees-carte-cps.txt)', { timeout: 600_000 }, () => {
  let stack;
  let browser;
  const phones = {};

  before(async () => {
    fs.rmSync(ARTEFACTS, { recursive: true, force: true });
    fs.mkdirSync(ARTEFACTS, { recursive: true });
    // A short propagation delay, for the "after the delay" part once the agency's approval
    // is reachable from a browser (/ars).
    stack = await startStack({ name: 'erpps', env: { CADUCEE_REGISTRY__PROPAGATION_DELAY_SECS: '5' } });
    for (const key of Object.values(WHO)) phones[key] = await stack.activate(PERSONAS[key]);
    await stack.addClient(RP);
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await stack?.stop();
  });

  const journey = (device, name, body) => runJourney(browser, stack, device, name, { artefacts: ARTEFACTS, tag: 'erpps' }, body);

  /** The userinfo of `key` for a relying party (openid-client: code flow, PKCE, nonce). */
  async function userinfo(key) {
    const config = await client.discovery(new URL(stack.issuer), RP.id, RP.secret, client.ClientSecretBasic(RP.secret),
      { execute: [client.allowInsecureRequests] });
    const verifier = client.randomPKCECodeVerifier();
    const nonce = client.randomNonce();
    const state = client.randomState();
    const redirectUri = RP.redirectUris[0];
    const authUrl = client.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri, scope: 'openid scope_all', acr_values: 'eidas1', state, nonce,
      code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
    });
    const login = await loginWithEcps(new HttpAgent(), authUrl, { redirectUri, identifier: PERSONAS[key].rpps, phone: phones[key] });
    const tokens = await client.authorizationCodeGrant(config, new URL(login.callback),
      { pkceCodeVerifier: verifier, expectedNonce: nonce, expectedState: state, idTokenExpected: true });
    return client.fetchUserInfo(config, tokens.access_token, tokens.claims().sub);
  }
  const sites = (info) => info.SubjectRefPro.exercices.flatMap((e) => e.activities).map((a) => a.raisonSocialeSite);

  for (const device of DEVICES) {
    const key = WHO[device];
    const persona = PERSONAS[key];
    test(`${device}: landing, Pro Santé Connect, coordinates checked, a new activity declared, followed, approved at /ars, in my activities and the userinfo claims after the delay (ERPPS-01, ERPPS-02, REG-06)`, async () => {
      await journey(device, 'nouvelle-activite', async (j, page) => {
        assert.equal((await page.goto(`${stack.base}${PORTAL}`)).status(), 200);
        await j.heading(SEED.welcome);
        const main = await page.locator('main').innerText();
        for (const words of [SEED.hasRpps, SEED.noRpps, SEED.noContact]) {
          assert.ok(main.includes(words), `the landing says: ${words}`);
        }
        assert.equal(await page.locator('#france-connect').getAttribute('href'), '/erpps/inscription');
        assert.equal(await page.locator('#coordonnees-franceconnect').getAttribute('href'), '/erpps/coordonnees-franceconnect');
        await j.see('accueil-portail');

        await pscLogin(j, persona, phones[key], PORTAL);
        // The first login: the coordinates to check (the CPS card goes there).
        await j.heading('Vérifiez vos coordonnées');
        assert.ok((await page.locator('main').innerText()).includes(SEED.card));
        assert.equal((await page.locator('#email-actuel').innerText()).trim(), persona.email);
        await j.see('coordonnees-a-verifier');
        await page.locator('#confirmer').click();

        await j.heading(SEED.home);
        for (const id of ['voir-activites', 'nouvelle-activite', 'cesser-activite', 'demande-en-cours', 'attestations', 'nouvelle-profession', 'coordonnees', 'nom-exercice']) {
          await page.locator(`#${id}`).waitFor();
        }
        await j.see('que-souhaitez-vous-faire');

        await page.locator('#voir-activites').click();
        await j.heading('Voir mes activités professionnelles');
        await page.locator('#activites').waitFor();
        await j.see('mes-activites');
        await page.goto(`${stack.base}${PORTAL}`);

        // A new activity: the structure, empty first (the French messages), then typed.
        await page.locator('#nouvelle-activite').click();
        await j.heading(SEED.newActivity);
        assert.ok((await page.locator('main').innerText()).includes('Étape 1 sur 2'));
        await j.see('structure');
        await page.locator('#suivant').click();
        await page.locator('.resume-erreurs').waitFor();
        const summary = await page.locator('.resume-erreurs').innerText();
        for (const m of ['Indiquez le nom de la structure', 'Indiquez le code postal de la structure']) {
          assert.ok(summary.includes(m), `the summary says: ${m} (${summary})`);
        }
        assert.equal(await page.locator('#postcode').getAttribute('aria-invalid'), 'true');
        await j.see('structure-erreurs');
        await page.locator('#siret').fill(SIRET[device]);
        await page.locator('#name').fill(`Cabinet des Brotteaux (${device})`);
        await page.locator('#address').fill('3 place Jules Ferry');
        await page.locator('#postcode').fill('69006');
        await page.locator('#city').fill('Lyon');
        await page.locator('#suivant').click();

        // The activity, then sent.
        await page.waitForURL(/etape=2/);
        assert.ok((await page.locator('main').innerText()).includes('Étape 2 sur 2'));
        await page.locator('#profession_code').selectOption('10');
        await page.locator('input[name="mode_code"][value="L"]').check();
        await page.locator('#role_code').selectOption('FON-01');
        await page.locator('#start_date').fill('2026-12-01');
        await j.see('activite');
        await page.locator('#envoyer').click();

        // Followed: "Consulter ma demande en cours".
        await page.locator('#demande-envoyee').waitFor();
        await j.heading(SEED.requests);
        const request = page.locator('section.demande').first();
        const text = await request.innerText();
        assert.ok(text.includes('Transmise à l\'ARS'), `submitted: ${text}`);
        assert.ok(text.includes(`Cabinet des Brotteaux (${device})`), 'the structure typed');
        await j.see('demande-envoyee');

        // Not in the claims before the decision.
        const structure = `Cabinet des Brotteaux (${device})`;
        assert.ok(!sites(await userinfo(key)).includes(structure), 'not in the userinfo claims yet');

        // The agency of département 69 approves it (/ars, in a browser of its own).
        const agency = await browser.newContext({ locale: 'fr-FR' });
        try {
          const agentPage = await agency.newPage();
          await enrolAgent(agentPage, stack, { email: `agent.${device}@ars-ara.test`, departments: '69' });
          const done = await decideFirst(agentPage, '/ars/demandes/', { approve: true });
          assert.match(done, /Votre décision est enregistrée/);
        } finally {
          await agency.close();
        }
        await page.reload();
        const approved = await page.locator('section.demande').first().innerText();
        assert.ok(approved.includes('visible à partir du'), `approved, visible after the delay: ${approved}`);
        await j.see('demande-acceptee');
        // After the propagation delay (5 s here, applied by serve every 5 s): in my activities.
        await eventually('the new activity in the registry', async () => {
          await page.goto(`${stack.base}${PORTAL}/activites`);
          const table = await page.locator('main').innerText();
          return table.includes(`Cabinet des Brotteaux (${device})`) ? true : undefined;
        }, { timeoutMs: 30_000, everyMs: 1_000 });
        await j.see('activite-enregistree');
        // And in the Pro Santé Connect userinfo claims of a relying party (read from the registry).
        const info = await userinfo(key);
        const act = info.SubjectRefPro.exercices.flatMap((e) => e.activities).find((a) => a.raisonSocialeSite === structure);
        assert.ok(act, `the new activity in the userinfo claims: ${JSON.stringify(sites(info))}`);
        assert.equal(act.numeroSiretSite, SIRET[device]);
        assert.equal(act.codePostal, '69006');
        await page.goto(`${stack.base}${PORTAL}/demandes`);
        assert.ok((await page.locator('main').innerText()).includes('Acceptée et enregistrée au RPPS'));

        await page.goto(`${stack.base}${PORTAL}`);
        await page.locator('#se-deconnecter').click();
        await j.heading(SEED.welcome);
        await j.see('deconnecte');
      });
    });
  }
});
