// Browser journeys of the ROR National (/espaces/ror, seed
// ror-national-connexion-liberaux.txt), each on a desktop window and on a 390×844 phone, in
// Debian's Chromium driven by playwright-core:
//
//   (a) a liberal professional's first login, by Pro Santé Connect (the e-CPS approved with
//       the authenticator CLI): the contact e-mail, an MSSanté address refused then another
//       confirmed by a code (ONB-03); the terms scrolled to their end before "Accepter"
//       (ONB-04); the registry's data with an anomaly declared and seen listed as sent, then
//       "Valider mes informations" (ONB-05, REG-09); the home page;
//   (b) a later login by e-mail + password, the password created through "Mot de passe
//       oublié ?" and the single-use link read from the real SMTP server (ONB-02); a new
//       version of the terms published with `caducee portal terms publish ror` against the
//       running server's database, accepted again before the home page.
//
// Every page visited is saved under test-artefacts/ror/ (gitignored) and audited: the
// accessibility basics and axe-core (WCAG 2.1 A/AA) without a violation of impact serious or
// critical.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { launchChromium } from '../lib/browser.js';
import { pscLogin as portalPscLogin, runJourney } from '../lib/journeys.js';
import { codeByEmail, takeMail } from '../lib/portal.js';
import { PERSONAS, ROOT, startStack } from '../lib/stack.js';

const ARTEFACTS = path.join(ROOT, 'test-artefacts', 'ror');
const PORTAL = '/espaces/ror';
const PASSWORD = 'salicorne-kayak-brioche-58';

// The four liberal personas of the demo registry (ONB-01: the ROR lets in liberal practice
// only; Thomas Bernard and Camille Leroy are salaried).
const LIBERAL = {
  jerome: PERSONAS.jerome,
  julie: PERSONAS.julie,
  karim: { rpps: '19999900061', idnat: '819999900061', firstName: 'Karim', lastName: 'Benali', email: 'karim.benali@example.test', mobile: '+33612345606' },
  sophie: { rpps: '19999900079', idnat: '819999900079', firstName: 'Sophie', lastName: 'Durand', email: 'sophie.durand@example.test', mobile: '+33612345607' },
};
const WHO = {
  first: { desktop: 'jerome', phone: 'karim' },
  later: { desktop: 'julie', phone: 'sophie' },
};

// The seed's words (and the catalogue's where the seed gives none).
const SEED = {
  contact: 'Votre adresse e-mail de contact',
  mssante: 'Il n\'est pas possible de renseigner une adresse MSSanté',
  code: 'Veuillez saisir le code reçu',
  terms: 'Conditions Générales d\'Utilisation',
  registry: 'Validation de vos informations personnelles',
  validate: 'Valider mes informations',
  declare: 'Déclarer une anomalie',
  forgot: 'Mot de passe oublié ?',
};

const DEVICES = ['desktop', 'phone'];

/** The terms box: "Accepter" stays disabled until the text is scrolled to its end. */
async function acceptTerms(j, label, mustContain) {
  const { page } = j;
  await j.heading(SEED.terms);
  const box = page.locator('.conditions');
  if (mustContain) assert.ok((await box.innerText()).includes(mustContain), `the terms in force: ${mustContain}`);
  const scrolls = await box.evaluate((b) => b.scrollHeight > b.clientHeight + 4);
  assert.ok(scrolls, 'the terms are longer than their box (else nothing to read to the end)');
  assert.equal(await page.locator('#accepter').isDisabled(), true, '"Accepter" disabled before reading');
  assert.equal(await page.locator('#accepte').isDisabled(), true, 'the box disabled before reading');
  await j.see(`${label}-avant-lecture`);
  await box.evaluate((b) => { b.scrollTop = b.scrollHeight; b.dispatchEvent(new Event('scroll')); });
  await page.waitForFunction(() => !document.querySelector('#accepter').disabled);
  await page.locator('#accepte').check();
  await j.see(`${label}-lues`);
  await page.locator('#accepter').click();
}

/** The registry's data (ONB-05): checks the persona's name is shown. */
async function registryPage(j, persona, label) {
  await j.heading(SEED.registry);
  const main = await j.page.locator('main').innerText();
  assert.ok(main.toLowerCase().includes(persona.lastName.toLowerCase()), `the registry's last name ${persona.lastName}`);
  assert.ok(main.includes(persona.rpps), 'the RPPS number');
  await j.page.getByRole('button', { name: SEED.validate, exact: true }).waitFor();
  await j.page.getByRole('button', { name: SEED.declare, exact: true }).waitFor();
  await j.see(label);
}

/** The contact e-mail (ONB-03), confirmed by the code the SMTP server received. */
async function contactEmail(j, stack, email, { refuseFirst }) {
  const { page } = j;
  await j.heading(SEED.contact);
  await j.see('contact');
  if (refuseFirst) {
    await page.locator('#email').fill(refuseFirst);
    await page.locator('#envoyer-code').click();
    await page.getByText(SEED.mssante, { exact: false }).first().waitFor();
    assert.equal(await page.locator('#email').getAttribute('aria-invalid'), 'true', 'the field in error');
    await j.see('contact-mssante-refuse');
  }
  await page.locator('#email').fill(email);
  await page.locator('#envoyer-code').click();
  await j.heading(SEED.code);
  await j.see('contact-code');
  await page.locator('#code').fill(await codeByEmail(stack, email));
  await page.locator('#valider').click();
}

describe('browser journeys of /espaces/ror (seed ror-national-connexion-liberaux.txt)', { timeout: 900_000 }, () => {
  let stack;
  let browser;
  const phones = {};

  before(async () => {
    fs.rmSync(ARTEFACTS, { recursive: true, force: true });
    fs.mkdirSync(ARTEFACTS, { recursive: true });
    stack = await startStack({ name: 'ror' });
    for (const key of Object.keys(LIBERAL)) phones[key] = await stack.activate(LIBERAL[key]);
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await stack?.stop();
  });

  const journey = (device, name, body) => runJourney(browser, stack, device, name, { artefacts: ARTEFACTS, tag: 'ror' }, body);

  for (const device of DEVICES) {
    const key = WHO.first[device];
    const persona = LIBERAL[key];
    test(`${device}: first login by Pro Santé Connect, MSSanté refused, terms read to the end, an anomaly declared and listed, then home (ONB-02..05, REG-09)`, async () => {
      await journey(device, 'premiere-connexion', async (j, page) => {
        assert.equal((await page.goto(`${stack.base}${PORTAL}`)).status(), 200);
        await page.locator('#psc').waitFor();
        assert.equal((await page.locator('#psc').innerText()).trim(), 'PROSANTECONNECT', 'the seed\'s button');
        await j.see('connexion');
        // ONB-02: a password before the first PSC login is refused, saying why.
        await page.locator('#email').fill(persona.email);
        await page.locator('#mot_de_passe').fill(PASSWORD);
        await page.locator('#se-connecter').click();
        await page.locator('#erreur').waitFor();
        assert.match(await page.locator('#erreur').innerText(), /Pro Santé Connect/);
        await j.see('mot-de-passe-avant-psc');

        await portalPscLogin(j, persona, phones[key], PORTAL);
        const contact = `${key}.${device}@cabinet.example.test`;
        await contactEmail(j, stack, contact, { refuseFirst: `${key}.${device}@medecin.mssante.fr` });
        await acceptTerms(j, 'cgu');
        await registryPage(j, persona, 'registre');

        // "Déclarer une anomalie": the form, sent empty first (French messages), then filled.
        await page.locator('#declarer-anomalie').click();
        await j.heading(SEED.declare);
        await j.see('anomalie');
        await page.locator('#envoyer-anomalie').click();
        await page.locator('.resume-erreurs').waitFor();
        const summary = await page.locator('.resume-erreurs').innerText();
        for (const m of ['Choisissez la donnée concernée', 'Décrivez ce qui est erroné', 'Indiquez la bonne information']) {
          assert.ok(summary.includes(m), `the summary says: ${m} (${summary})`);
        }
        await j.see('anomalie-erreurs');
        const options = await page.locator('#donnee option').evaluateAll((os) => os.map((o) => o.value));
        const activity = options.find((v) => v.startsWith('activite-'));
        assert.ok(activity, `an activity may be reported: ${options}`);
        await page.locator('#donnee').selectOption(activity);
        await page.locator('#erreur').fill('Le numéro de rue de mon cabinet est faux');
        await page.locator('#correction').fill(`14 rue de la République (${device})`);
        await page.locator('#envoyer-anomalie').click();

        // Listed as sent, with the data it is about.
        await page.locator('#signalement-envoye').waitFor();
        await j.heading(SEED.registry);
        const report = page.locator('li.signalement').first();
        assert.equal((await report.locator('.etat-signalement').innerText()).trim(), 'Envoyée');
        assert.ok((await report.innerText()).includes(`14 rue de la République (${device})`), 'the right information listed');
        await j.see('anomalie-envoyee');

        // The report is in the registry's queue: the home page still waits for the validation.
        await page.locator('#valider-informations').click();
        await page.waitForURL((u) => u.pathname === PORTAL);
        await page.getByText('Mon offre de santé', { exact: true }).first().waitFor();
        await j.see('accueil');
      });
    });
  }

  for (const device of DEVICES) {
    const key = WHO.later[device];
    const persona = LIBERAL[key];
    test(`${device}: later login by e-mail + password created through "Mot de passe oublié ?", then a new terms version accepted again (ONB-02, ONB-04)`, async () => {
      const contact = `${key}.${device}@cabinet.example.test`;
      // The first login, by Pro Santé Connect, through the steps.
      await journey(device, 'avant-mot-de-passe', async (j, page) => {
        await page.goto(`${stack.base}${PORTAL}`);
        await portalPscLogin(j, persona, phones[key], PORTAL);
        await contactEmail(j, stack, contact, {});
        await acceptTerms(j, 'cgu');
        await registryPage(j, persona, 'registre');
        await page.locator('#valider-informations').click();
        await page.waitForURL((u) => u.pathname === PORTAL);
        await j.see('accueil-psc');
      });

      // Another browser: "Mot de passe oublié ?" to the contact e-mail, the link, a password.
      await journey(device, 'mot-de-passe', async (j, page) => {
        await page.goto(`${stack.base}${PORTAL}`);
        // The seed: « Mot de passe oublié ? » on the login page itself.
        await page.getByRole('link', { name: SEED.forgot, exact: true }).waitFor();
        await j.see('connexion');
        await page.getByRole('link', { name: SEED.forgot, exact: true }).click();
        await page.locator('#email').waitFor();
        await j.see('mot-de-passe-oublie');
        await page.locator('#email').fill(contact);
        await page.locator('#valider').click();
        await page.locator('#lien-envoye').waitFor();
        await j.see('lien-envoye');
        const re = new RegExp(`https?://[^\\s"<>]*${PORTAL}/lien/[A-Za-z0-9_-]+`);
        const { text } = await takeMail(stack, contact, 'the single-use link', (t) => re.test(t));
        await page.goto(text.match(re)[0]);
        await page.locator('#utiliser-lien').waitFor();
        await j.see('lien');
        await page.locator('#utiliser-lien').click();
        await page.locator('#lien-utilise').waitFor();
        await j.see('parametres');
        if (!(await page.locator('#email').inputValue())) await page.locator('#email').fill(contact);
        await page.locator('#nouveau_mot_de_passe').fill(PASSWORD);
        await page.locator('#confirmation').fill(PASSWORD);
        await page.locator('#enregistrer').click();
        await page.locator('#enregistre').waitFor();
        await j.see('mot-de-passe-cree');
      });

      // A new version of the terms, published on the running server's database.
      const version = `2026-12-${device}`;
      const file = path.join(stack.dir, `cgu-${version}.txt`);
      const body = [`Conditions Générales d'Utilisation du ROR National, version ${version}.`,
        ...Array.from({ length: 30 }, (_, i) => `Article ${i + 1}. L'utilisateur s'engage à tenir à jour son offre de santé (${version}).`),
        `7.4 Acceptation et évolution des CGU : nouvelle version ${version}.`].join('\n\n');
      fs.writeFileSync(file, body);
      await stack.cliOk(['portal', 'terms', 'publish', 'ror', '--version', version, '--file', file]);

      // A third browser: e-mail + password; the new terms before the home page.
      await journey(device, 'nouvelles-cgu', async (j, page) => {
        await page.goto(`${stack.base}${PORTAL}`);
        await page.locator('#email').fill(contact);
        await page.locator('#mot_de_passe').fill(PASSWORD);
        await j.see('connexion-mot-de-passe');
        await page.locator('#se-connecter').click();
        await page.waitForURL((u) => u.pathname === `${PORTAL}/accueil`);
        await acceptTerms(j, 'nouvelles-cgu', `nouvelle version ${version}`);
        await page.waitForURL((u) => u.pathname === PORTAL);
        await page.getByText('Mon offre de santé', { exact: true }).first().waitFor();
        await j.see('accueil-mot-de-passe');
      });
    });
  }
});
