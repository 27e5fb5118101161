// Browser journeys of the Portail RPLUS SANTÉ (/espaces/rplus, seed
// rplus-sante-activation-portail.txt), each on a desktop window and on a 390×844 phone, in
// Debian's Chromium driven by playwright-core:
//
//   (a) a legacy account (the old system's CPAM identifier and Résoflux password, imported by
//       `serve --demo`) logs in, sees "Bienvenue sur votre Portail RPLUS SANTÉ", and goes
//       through the whole wizard: personal details (a wrong name refused first), the e-mail
//       code from the real SMTP server, the password with the seed's four rules ticked live,
//       the mobile's code from the SMS gateway, the structure prefilled from the registry,
//       "Votre demande d'activation de compte est maintenant finalisée"; then a later login
//       by the e-mail (ACC-08, ACC-09);
//   (b) a first login by Pro Santé Connect (the e-CPS approved with the authenticator CLI),
//       then "Validation des coordonnées": the personal e-mail and the mobile, both skipped
//       ("Ignorer cette étape"), the home page (ACC-10).
//
// Every page visited is saved under test-artefacts/rplus/ (gitignored) and audited.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { launchChromium } from '../lib/browser.js';
import { pscLogin, runJourney } from '../lib/journeys.js';
import { codeByEmail, codeBySms } from '../lib/portal.js';
import { PERSONAS, ROOT, startStack } from '../lib/stack.js';

const ARTEFACTS = path.join(ROOT, 'test-artefacts', 'rplus');
const PORTAL = '/espaces/rplus';
const LEGACY_PASSWORD = 'Resoflux-2026';
const PASSWORD = 'Tramway-grenadine-42';

// The demo's legacy accounts (README) and who they are.
const LEGACY = {
  desktop: { identifier: 'CPAM0001', civility: 'MME', profession: '10', ...PERSONAS.julie },
  phone: {
    identifier: 'CPAM0002', civility: 'M', profession: '10',
    rpps: '19999900061', idnat: '819999900061', firstName: 'Karim', lastName: 'Benali', email: 'karim.benali@example.test', mobile: '+33612345606',
  },
};
const PSC = {
  desktop: { rpps: '19999900079', idnat: '819999900079', firstName: 'Sophie', lastName: 'Durand', email: 'sophie.durand@example.test', mobile: '+33612345607' },
  phone: PERSONAS.jerome,
};

// The seed's words.
const SEED = {
  welcome: 'Bienvenue sur votre Portail RPLUS SANTÉ',
  configure: 'Je configure mon compte portail',
  details: 'Coordonnées personnelles',
  emailCode: 'Vérification de votre email',
  password: 'Créer votre mot de passe',
  rules: ['12 caractères ou plus', '1 lettre majuscule', '1 lettre minuscule', '1 chiffre ou 1 caractère spécial'],
  phone: 'Validation du numéro de téléphone',
  structure: 'Coordonnées de votre structure',
  done: 'Votre demande d\'activation de compte est maintenant finalisée',
  coordinates: 'Validation des coordonnées',
  skip: 'Ignorer cette étape',
  emailTwoFactor: 'Identifiant à deux facteurs',
};

const DEVICES = ['desktop', 'phone'];
const OPTS = { artefacts: ARTEFACTS, tag: 'rplus' };

describe('browser journeys of /espaces/rplus (seed rplus-sante-activation-portail.txt)', { timeout: 900_000 }, () => {
  let stack;
  let browser;
  const phones = {};

  before(async () => {
    fs.rmSync(ARTEFACTS, { recursive: true, force: true });
    fs.mkdirSync(ARTEFACTS, { recursive: true });
    stack = await startStack({ name: 'rplus' });
    for (const device of DEVICES) phones[device] = await stack.activate(PSC[device]);
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await stack?.stop();
  });

  for (const device of DEVICES) {
    const who = LEGACY[device];
    test(`${device}: a legacy account logs in and goes through the whole registration wizard (ACC-08, ACC-09)`, async () => {
      const login = `${who.firstName.toLowerCase()}.${device}@cabinet.example.test`;
      await runJourney(browser, stack, device, 'inscription', OPTS, async (j, page) => {
        assert.equal((await page.goto(`${stack.base}${PORTAL}`)).status(), 200);
        for (const text of ['Identifiant', 'Mot de passe']) await page.getByLabel(text, { exact: true }).waitFor();
        await page.getByLabel('Se souvenir de moi').waitFor();
        await page.getByRole('link', { name: 'Mot de passe oublié ?', exact: true }).waitFor();
        await page.getByRole('link', { name: 'S\'identifier avec PRO SANTE CONNECT', exact: true }).waitFor();
        await j.see('connexion');
        await page.locator('#email').fill(who.identifier);
        await page.locator('#mot_de_passe').fill('pas-le-bon');
        await page.locator('#se-connecter').click();
        await page.locator('#erreur').waitFor();
        assert.match(await page.locator('#erreur').innerText(), /Identifiant ou mot de passe incorrect/);
        await j.see('connexion-refusee');
        await page.locator('#email').fill(who.identifier);
        await page.locator('#mot_de_passe').fill(LEGACY_PASSWORD);
        await page.locator('#se-connecter').click();

        await page.getByText(SEED.welcome).first().waitFor();
        await j.see('bienvenue');
        await page.getByRole('link', { name: SEED.configure, exact: true }).click();

        // 1. Personal details: a wrong family name first.
        await j.heading(SEED.details);
        await j.see('coordonnees');
        await page.locator('#civilite').selectOption(who.civility);
        await page.locator('#nom').fill('Dupont');
        await page.locator('#prenom').fill(who.firstName);
        await page.locator('#profession').selectOption(who.profession);
        await page.locator('#rpps').fill(who.rpps);
        await page.locator('#email').fill(login);
        await page.locator('#portable').fill(`0${who.mobile.slice(3)}`);
        await page.locator('#cgu').check();
        await page.locator('#valider').click();
        await page.locator('#erreur').waitFor();
        assert.match(await page.locator('#erreur').innerText(), /ne correspondent pas au répertoire RPPS/);
        await j.see('coordonnees-refusees');
        await page.locator('#nom').fill(who.lastName.toUpperCase());
        await page.locator('#valider').click();

        // 2. The e-mail's code.
        await j.heading(SEED.emailCode);
        await j.see('code-email');
        await page.locator('#code').fill(await codeByEmail(stack, login));
        await page.locator('#valider').click();

        // 3. The password, its four rules ticked as typed.
        await j.heading(SEED.password);
        const rules = page.locator('.regles li');
        assert.deepEqual((await rules.allInnerTexts()).map((t) => t.trim()).map((t) => SEED.rules.find((r) => t.includes(r)) ?? t), SEED.rules);
        await page.locator('#mot_de_passe').pressSequentially('Tramway', { delay: 20 });
        // "Tramway": an upper-case and lower-case letters, neither 12 characters nor a digit.
        const met = () => page.locator('#mot_de_passe-regles li').evaluateAll((lis) => lis.map((li) => li.classList.contains('regle-ok')));
        await page.waitForFunction(() => document.querySelectorAll('#mot_de_passe-regles li.regle-ok').length === 2, null, { timeout: 10_000 });
        assert.deepEqual(await met(), [false, true, true, false], 'the rules met by "Tramway"');
        await j.see('mot-de-passe-en-cours');
        await page.locator('#mot_de_passe').fill(PASSWORD);
        await page.waitForFunction(() => document.querySelectorAll('#mot_de_passe-regles li.regle-ok').length === 4, null, { timeout: 10_000 });
        await page.locator('#mot_de_passe_confirmation').fill(PASSWORD);
        await j.see('mot-de-passe');
        await page.locator('#valider').click();

        // 4. The mobile's code, sent with the account's creation.
        await j.heading(SEED.phone);
        await page.getByText('Une erreur ? Modifier mon numéro de téléphone').first().waitFor();
        await page.getByRole('button', { name: SEED.skip, exact: true }).waitFor();
        await j.see('code-portable');
        await page.locator('#code').fill(await codeBySms(stack, who.mobile));
        await page.locator('#valider').click();

        // 5. The structure, prefilled from the registry where it knows it.
        await j.heading(SEED.structure);
        await j.see('structure');
        const fill = async (id, value) => {
          if (!(await page.locator(id).inputValue())) await page.locator(id).fill(value);
        };
        await fill('#raison_sociale', `Cabinet ${who.lastName}`);
        await fill('#siret', '79999001700018');
        await page.locator('#cpam').fill('691234567');
        await fill('#finess', '750712184');
        await fill('#adresse', '12 rue Victor Hugo');
        await fill('#code_postal', '69002');
        await fill('#ville', 'Lyon');
        await page.locator('#valider').click();
        await page.getByText(SEED.done).first().waitFor();
        await j.see('finalisee');
        await page.getByRole('link', { name: 'Accéder à votre espace client', exact: true }).click();
        await page.getByText('Mes données d\'activité', { exact: true }).first().waitFor();
        await j.see('espace-client');
      });

      // Later: the e-mail and the new password, "Se souvenir de moi" ticked.
      await runJourney(browser, stack, device, 'connexion-email', OPTS, async (j, page) => {
        await page.goto(`${stack.base}${PORTAL}`);
        await page.locator('#email').fill(login);
        await page.locator('#mot_de_passe').fill(PASSWORD);
        await page.locator('#se_souvenir').check();
        await j.see('connexion');
        await page.locator('#se-connecter').click();
        await page.getByText('Mes données d\'activité', { exact: true }).first().waitFor();
        const cookies = await j.context.cookies();
        const local = cookies.find((c) => c.name.endsWith('_local'));
        assert.ok(local && local.expires > Date.now() / 1000 + 29 * 24 * 3600, `a session kept 30 days: ${JSON.stringify(local)}`);
        await j.see('espace-client');
      });
    });
  }

  for (const device of DEVICES) {
    const who = PSC[device];
    test(`${device}: Pro Santé Connect, then the e-mail and the mobile both skipped (ACC-10)`, async () => {
      await runJourney(browser, stack, device, 'psc', OPTS, async (j, page) => {
        await page.goto(`${stack.base}${PORTAL}`);
        await page.locator('#psc').waitFor();
        await pscLogin(j, who, phones[device], PORTAL);
        await j.heading(SEED.coordinates);
        await page.getByLabel('Adresse email personnelle').waitFor();
        await j.see('coordonnees-email');
        await page.getByRole('button', { name: SEED.skip, exact: true }).click();
        await j.heading(SEED.coordinates);
        await page.getByLabel('Numéro de portable').waitFor();
        await j.see('coordonnees-portable');
        await page.getByRole('button', { name: SEED.skip, exact: true }).click();
        await page.waitForURL((u) => u.pathname === PORTAL);
        await page.getByText('Mes données d\'activité', { exact: true }).first().waitFor();
        await j.see('accueil');
      });
    });
  }
});
