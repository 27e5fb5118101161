// Browser journeys of eRPPS through FranceConnect (seeds erpps-portail-aide-connexion.txt and
// rpps-coordonnees-carte-cps.txt), on a desktop window and on a 390×844 phone, in Debian's
// Chromium driven by playwright-core, the real test provider standing for FranceConnect
// (lib/franceconnect-provider.mjs: panva's oidc-provider, its own login and consent pages):
//
// - a first registration (REG-07): "Vous n'avez pas de numéro RPPS" → FranceConnect → the
//   form prefilled with the identity (a wrong postcode's French error first) → the e-mail's
//   code from the real SMTP server, the mobile's from the SMS gateway → the three documents
//   (an executable refused by content) → "Votre demande a été transmise à l'ARS"; on the
//   desktop it goes on: an agent of département 69 enrolled at /ars validates it
//   (lib/ars.js), the RPPS number assigned read from the e-mail, the registry person made
//   after the propagation delay (3 s here), the e-CPS activated with the registration's
//   coordinates (codes by SMTP and SMS), the Pro Santé Connect login to /erpps,
//   "Télécharger mes attestations", the PDF read back with pdftotext (name, RPPS number,
//   profession) and its code genuine and current at /verifier/{code};
// - the coordinates through FranceConnect (REG-12): the identity matched with the registry's
//   civil status (FranceConnect's capitals against the registry's spelling), new e-mail,
//   mobile and address confirmed by codes, "un délai de 48 heures est nécessaire".
//
// Every page is saved under test-artefacts/franceconnect/ and audited (axe-core, WCAG 2.1
// A/AA, nothing serious or critical).

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { after, before, describe, test } from 'node:test';

import { decideFirst, enrolAgent } from '../lib/ars.js';
import { launchChromium } from '../lib/browser.js';
import { pscLogin, runJourney } from '../lib/journeys.js';
import { takeMail } from '../lib/portal.js';
import { codeInEmail, codeInSms, eventually, freePort, PERSONAS, ROOT, run, startStack } from '../lib/stack.js';

const ARTEFACTS = path.join(ROOT, 'test-artefacts', 'franceconnect');
const DEVICES = ['desktop', 'phone'];
const CLIENT_ID = 'caducee-erpps-js';
const CLIENT_SECRET = 'secret-franceconnect-des-parcours-navigateur';

// One identity per device and journey (a registration per FranceConnect subject at a time).
const newcomer = (device) => ({
  sub: `fc-newcomer-${device}`,
  given_name: 'Amélie Jeanne',
  family_name: 'Lefèvre-Dubois',
  birthdate: '1990-04-12',
  gender: 'female',
  birthplace: '69123',
  birthcountry: '99100',
  email: `amelie.${device}@fc.example.test`,
});
// Hélène Dubois and Camille Leroy, demo personas, as FranceConnect spells them.
const WHO = { desktop: 'helene', phone: 'camille' };
const BIRTH = { helene: '1975-01-27', camille: '1990-11-30' };
const professional = (key, device) => ({
  sub: `fc-pro-${device}`,
  given_name: `${PERSONAS[key].firstName} Marie`.toUpperCase(),
  family_name: PERSONAS[key].lastName.toUpperCase(),
  birthdate: BIRTH[key],
  gender: 'female',
  birthplace: '',
  birthcountry: '99100',
  email: `pro.${device}@fc.example.test`,
});

const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]);
const PDF = Buffer.from('%PDF-1.4\n1 0 obj << >> endobj\n%%EOF\n');
const EXE = Buffer.from([0x4d, 0x5a, 0x90, 0, 3, 0, 0, 0]);

describe('browser journeys through FranceConnect (REG-07, REG-12)', { timeout: 600_000 }, () => {
  let stack;
  let browser;
  let provider;
  const fcPort = { value: 0 };

  before(async () => {
    fs.rmSync(ARTEFACTS, { recursive: true, force: true });
    fs.mkdirSync(ARTEFACTS, { recursive: true });
    // The provider's port first: eRPPS reads its discovery lazily, at the first login, so
    // the provider can start once the stack's callback address is known.
    fcPort.value = await freePort();
    const issuer = `http://127.0.0.1:${fcPort.value}`;
    const secretFile = path.join(ARTEFACTS, 'fc-secret.txt');
    fs.writeFileSync(secretFile, CLIENT_SECRET);
    stack = await startStack({
      name: 'franceconnect',
      env: {
        CADUCEE_FRANCECONNECT__ISSUER: issuer,
        CADUCEE_FRANCECONNECT__CLIENT_ID: CLIENT_ID,
        CADUCEE_FRANCECONNECT__CLIENT_SECRET_FILE: secretFile,
        // A short propagation delay: the registration validated at /ars becomes a registry
        // person a few seconds later (48 h by default).
        CADUCEE_REGISTRY__PROPAGATION_DELAY_SECS: '3',
      },
    });
    const accounts = DEVICES.flatMap((d) => [newcomer(d), professional(WHO[d], d)]);
    provider = spawn('node', [
      path.join(ROOT, 'tests/js/lib/franceconnect-provider.mjs'),
      '--port', String(fcPort.value),
      '--client-id', CLIENT_ID,
      '--client-secret', CLIENT_SECRET,
      '--redirect-uri', `${stack.base}/erpps/franceconnect/callback`,
      '--post-logout-redirect-uri', `${stack.base}/erpps`,
      '--accounts', JSON.stringify(accounts),
    ], { stdio: ['ignore', 'pipe', 'ignore'] });
    const lines = readline.createInterface({ input: provider.stdout });
    await new Promise((resolve, reject) => {
      lines.on('line', (l) => { if (l.startsWith('ISSUER=')) resolve(); });
      provider.on('exit', (c) => reject(new Error(`franceconnect-provider exited ${c}`)));
    });
    await eventually('FranceConnect discovery', async () => {
      const r = await fetch(`${issuer}/.well-known/openid-configuration`).catch(() => undefined);
      return r?.ok ? true : undefined;
    });
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    provider?.kill('SIGTERM');
    await stack?.stop();
  });

  const journey = (device, name, body) => runJourney(browser, stack, device, name, { artefacts: ARTEFACTS, tag: 'franceconnect' }, body);

  /** FranceConnect's own pages: pick `sub`, consent. */
  async function franceconnect(j, page, sub) {
    await page.waitForURL((u) => u.port === String(fcPort.value));
    await page.locator(`input[value="${sub}"]`).check();
    await page.locator('#fc-login').click();
    const consent = page.locator('#fc-consent');
    await Promise.race([
      consent.waitFor({ timeout: 10_000 }).then(() => consent.click()),
      page.waitForURL((u) => u.port !== String(fcPort.value), { timeout: 10_000 }),
    ]);
    await page.waitForURL((u) => u.port !== String(fcPort.value));
  }

  async function emailCode(to) {
    return eventually(`code to ${to}`, async () => {
      const raw = stack.smtp.take((m) => m.includes(to));
      return raw ? codeInEmail(raw) : undefined;
    });
  }

  async function smsCode(to) {
    return eventually(`SMS to ${to}`, async () => {
      const m = stack.sms.take((s) => s.to === to);
      return m ? codeInSms(m.text) : undefined;
    });
  }

  for (const device of DEVICES) {
    test(`${device}: a first registration through FranceConnect up to "transmise à l'ARS"${device === 'desktop' ? ', validated at /ars, the e-CPS activated, the attestation downloaded and verified (ERPPS-01, REG-07, REG-08, REG-11)' : ' (ERPPS-01, REG-07)'}`, async () => {
      await journey(device, 'inscription', async (j, page) => {
        const who = newcomer(device);
        await page.goto(`${stack.base}/erpps`);
        await page.locator('#france-connect').click();
        await j.heading('Vous n\'avez pas de numéro RPPS');
        assert.ok((await page.locator('main').innerText()).includes('préparez les documents requis'));
        await j.see('inscription');
        await page.locator('#s-identifier-franceconnect').click();
        await franceconnect(j, page, who.sub);

        await j.heading('Ma demande d\'enregistrement au RPPS');
        const main = await page.locator('main').innerText();
        for (const shown of [who.family_name, who.given_name, who.birthdate]) assert.ok(main.includes(shown), `shown: ${shown}`);
        await j.see('formulaire');
        await page.locator('#profession').selectOption('60');
        await page.locator('input[name="mode"][value="L"]').check();
        await page.locator('#structure').fill(`Cabinet des Pentes (${device})`);
        await page.locator('#rue').fill('12 rue des Capucins');
        await page.locator('#code_postal').fill('690');
        await page.locator('#commune').fill('Lyon');
        const email = `amelie.${device}@example.test`;
        const mobile = device === 'desktop' ? '06 12 34 56 01' : '06 12 34 56 02';
        await page.locator('#email').fill(email);
        await page.locator('#mobile').fill(mobile);
        await page.locator('#enregistrer').click();
        await page.locator('.resume-erreurs').waitFor();
        assert.ok((await page.locator('.resume-erreurs').innerText()).includes('code postal en 5 chiffres'));
        assert.equal(await page.locator('#structure').inputValue(), `Cabinet des Pentes (${device})`, 'typed data kept');
        await j.see('formulaire-erreur');
        await page.locator('#code_postal').fill('69001');
        await page.locator('#enregistrer').click();

        await j.heading('Confirmer mon adresse e-mail');
        await j.see('code-email');
        await page.locator('#code').fill(await emailCode(email));
        await page.locator('#valider').click();
        await j.heading('Confirmer mon téléphone mobile');
        await page.locator('#code').fill(await smsCode(`+3361234560${device === 'desktop' ? 1 : 2}`));
        await page.locator('#valider').click();

        await j.heading('Mes justificatifs');
        await j.see('justificatifs');
        await page.locator('#piece_identite').setInputFiles({ name: 'cni.pdf', mimeType: 'application/pdf', buffer: PNG });
        await page.locator('#diplome').setInputFiles({ name: 'diplome.pdf', mimeType: 'application/pdf', buffer: PDF });
        await page.locator('#justificatif_activite').setInputFiles({ name: 'contrat.pdf', mimeType: 'application/pdf', buffer: EXE });
        await page.locator('#deposer').click();
        await page.getByText('seuls les fichiers PDF, JPEG ou PNG sont acceptés').first().waitFor();
        await j.see('justificatif-refuse');
        await page.locator('#justificatif_activite').setInputFiles({ name: 'contrat.pdf', mimeType: 'application/pdf', buffer: PDF });
        await page.locator('#transmettre').click();
        await page.locator('#demande-transmise').waitFor();
        assert.ok((await page.locator('#demande-transmise').innerText()).includes('Votre demande a été transmise à l\'ARS'));
        await j.see('transmise');
        if (device !== 'desktop') return; // the rest once, on the desktop (the file's time)

        // The agency of département 69 validates it at /ars (a browser of its own).
        const agency = await browser.newContext({ locale: 'fr-FR' });
        let done;
        try {
          const agentPage = await agency.newPage();
          await enrolAgent(agentPage, stack, { email: 'agent.inscription@ars-ara.test', departments: '69' });
          done = await decideFirst(agentPage, '/ars/enregistrements/', { approve: true });
        } finally {
          await agency.close();
        }
        // The RPPS number assigned, read from the e-mail the real SMTP server received.
        // (its own message, "Votre numéro RPPS est :", not the generic decision's).
        const { text: decided } = await takeMail(stack, email, 'the RPPS number assigned', (t) => t.includes('Votre numéro RPPS est :'));
        const rpps = decided.match(/\b(2\d{10})\b/)?.[1];
        assert.ok(rpps, `a number of the assigned range in: ${decided}`);
        assert.ok(done.includes(rpps), `the agent's page names the number too: ${done}`);
        const person = { rpps, idnat: `8${rpps}`, firstName: who.given_name, lastName: who.family_name, email, mobile: '+33612345601' };

        // After the propagation delay (3 s here, applied by serve every 5 s): the e-CPS is
        // activated with the registration's coordinates (the codes by SMTP and SMS).
        const phone = await eventually('the registered person in the registry (e-CPS activation)',
          () => stack.activate(person).catch(() => undefined), { timeoutMs: 30_000, everyMs: 1_000 });

        // Pro Santé Connect to /erpps, then "Télécharger mes attestations".
        await page.goto(`${stack.base}/erpps`);
        await pscLogin(j, person, phone, '/erpps');
        if (new URL(page.url()).pathname === '/erpps/coordonnees-a-verifier') {
          await j.see('coordonnees-a-verifier');
          await Promise.all([page.waitForURL(/\/erpps$/), page.locator('#confirmer').click()]);
        }
        await j.heading('Que souhaitez-vous faire ?');
        await j.see('accueil-erpps');
        const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#attestations').click()]);
        assert.equal(download.suggestedFilename(), `attestation-rpps-${rpps}.pdf`);
        const pdf = path.join(ARTEFACTS, `inscription-${device}-${download.suggestedFilename()}`);
        await download.saveAs(pdf);
        const read = await run('pdftotext', ['-layout', pdf, '-']);
        assert.equal(read.code, 0, read.stderr);
        const flat = read.stdout.replace(/\s+/g, ' ');
        for (const shown of [`Amélie ${who.family_name.toUpperCase()}`, `Numéro RPPS : ${rpps}`, 'Infirmier'])  assert.ok(flat.includes(shown), `the PDF shows ${shown}: ${flat}`);
        const grouped = flat.match(/Code de vérification\s*:[^0-9A-Z]*([0-9A-Z]{4})-([0-9A-Z]{4})-([0-9A-Z]{4})/);
        const code = grouped && grouped.slice(1).join('');
        assert.ok(code, `the PDF gives its verification code: ${flat}`);

        // Its code at /verifier: genuine and current.
        assert.equal((await page.goto(`${stack.base}/verifier/${code}`)).status(), 200);
        assert.equal(await page.locator('#authenticite h2').textContent(), 'Attestation authentique');
        assert.match(await page.locator('#actualite').textContent(), /toujours en cours/);
        assert.equal(await page.locator('#atteste-numero').textContent(), rpps);
        await j.see('verifier');
      });
    });

    test(`${device}: coordinates through FranceConnect, the civil status matched (REG-12)`, async () => {
      await journey(device, 'coordonnees', async (j, page) => {
        const persona = PERSONAS[WHO[device]];
        await page.goto(`${stack.base}/erpps`);
        await page.locator('#coordonnees-franceconnect').click();
        await j.heading('Mes coordonnées ne sont pas renseignées, je peux mettre à jour via France Connect');
        await j.see('coordonnees');
        await page.locator('#s-identifier-franceconnect').click();
        await franceconnect(j, page, `fc-pro-${device}`);
        await j.heading('Mon numéro RPPS');
        await page.locator('#rpps').fill(`8${persona.rpps}`);
        await j.see('rpps');
        await page.locator('#continuer').click();
        await j.heading('Mes nouvelles coordonnées');
        const email = `nouvelle.${device}@example.test`;
        await page.locator('#email').fill(email);
        await page.locator('#mobile').fill(device === 'desktop' ? '07 11 22 33 01' : '07 11 22 33 02');
        await page.locator('#adresse').fill('3 rue des Lilas, 75020 Paris');
        await j.see('nouvelles-coordonnees');
        await page.locator('#continuer').click();
        await page.locator('#code').fill(await emailCode(email));
        await page.locator('#valider').click();
        await j.heading('Confirmer mon téléphone mobile');
        await page.locator('#code').fill(await smsCode(`+3371122330${device === 'desktop' ? 1 : 2}`));
        await page.locator('#valider').click();
        await page.locator('#coordonnees-enregistrees').waitFor();
        // The configured propagation delay, in words (3 s here; 48 heures by default).
        const said = await page.locator('main').innerText();
        assert.ok(said.replace(/[\u2068\u2069]/g, '').includes('Un délai de 3 secondes est nécessaire'), said);
        await j.see('enregistrees');
      });
    });
  }
});
