// Browser journey of the regional health agencies' back office (/ars, REG-11; CPS seed
// rpps-coordonnees-carte-cps.txt: "L'ARS peut intervenir pour me permettre l'accès au
// portail"), on a desktop window and on a 390×844 phone, in Debian's Chromium driven by
// playwright-core, against a real `caducee serve --demo`:
//
//   `caducee ars agent add` prints the one-time enrolment link → the link's page (a button,
//   the GET uses nothing) → a password (a weak one refused) → the authenticator app set up
//   (the secret read from the page; the codes computed here with RFC 6238 over node:crypto,
//   as an app computes them) → logout → login: e-mail + password, then the TOTP code →
//   an anomaly report of the agent's département (filed in the registry's queue by the test
//   kit: a row as `registry::anomaly::file` writes it) taken, a rejection without a reason
//   refused, then decided → the professional's record → their e-mail and mobile set on
//   their behalf with the identity document seen (a PDF uploaded), saved at once.
//
// Every page is saved under test-artefacts/ars/ (gitignored) and audited: the accessibility
// basics and axe-core (WCAG 2.1 A/AA) without a violation of impact serious or critical.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import crypto from 'node:crypto';

import { arsLogin, base32, decideFirst, enrolAgent, fileAnomaly, totp } from '../lib/ars.js';
import { launchChromium } from '../lib/browser.js';
import { runJourney } from '../lib/journeys.js';
import { PERSONAS, ROOT, run, startStack } from '../lib/stack.js';

const ARTEFACTS = path.join(ROOT, 'test-artefacts', 'ars');
const PASSWORD = 'Doubs-Jura-Verifie-2026';

const WHO = {
  desktop: { email: 'agent.rhone@ars-ara.test', departments: '69,01', persona: PERSONAS.julie, mobile: '06 98 76 54 31' },
  phone: { email: 'agent.loire@ars-pdl.test', departments: '44', persona: PERSONAS.thomas, mobile: '06 98 76 54 32' },
};

/** A submitted change of Julie Martin's exercise name, as `registry::requests::submit` leaves
 *  it (eRPPS files real ones: tests/js/test/erpps.test.js). */
async function fileRequest(stack, idnat, department) {
  const db = stack.databaseUrl.replace(/^sqlite:\/\//, '');
  const id = crypto.randomUUID();
  const at = Math.floor(Date.now() / 1000) - 3600;
  const change = JSON.stringify({ kind: 'exercise_name', last_name: 'Martin-Rey', first_name: 'Julie' });
  const script = `
import sqlite3, sys
db, id, idnat, dept, change, at = sys.argv[1:7]
at = int(at)
c = sqlite3.connect(db)
c.execute("INSERT INTO reg_request (id, idnat, kind, state, change_json, department, reason, created_at, updated_at, submitted_at) VALUES (?, ?, 'exercise_name', 'submitted', ?, ?, '', ?, ?, ?)", (id, idnat, change, dept, at, at, at))
c.execute("INSERT INTO reg_request_event (request_id, seq, from_state, to_state, actor, note, at) VALUES (?, 1, NULL, 'draft', ?, '', ?)", (id, 'ps:' + idnat, at))
c.execute("INSERT INTO reg_request_event (request_id, seq, from_state, to_state, actor, note, at) VALUES (?, 2, 'draft', 'submitted', ?, '', ?)", (id, 'ps:' + idnat, at))
c.commit()
`;
  const r = await run('python3', ['-c', script, db, id, idnat, department, change, String(at)]);
  assert.equal(r.code, 0, r.stderr);
  return id;
}

describe('browser journey of /ars (REG-11, seed rpps-coordonnees-carte-cps.txt)', { timeout: 300_000 }, () => {
  let stack;
  let browser;

  before(async () => {
    fs.rmSync(ARTEFACTS, { recursive: true, force: true });
    fs.mkdirSync(ARTEFACTS, { recursive: true });
    stack = await startStack({ name: 'ars', notifications: false });
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await stack?.stop();
  });

  test('desktop: the journeys\' helpers (lib/ars.js): an agent enrolled approves a change request, and logs in again', async () => {
    const request = await fileRequest(stack, PERSONAS.julie.idnat, '69');
    await runJourney(browser, stack, 'desktop', 'demande-validee', { artefacts: ARTEFACTS, tag: 'ars' }, async (j, page) => {
      const agent = await enrolAgent(page, stack, { email: 'agent.demandes@ars-ara.test', departments: '69', see: j.see });
      await page.locator(`a[href="/ars/demandes/${request}"]`).waitFor();
      const done = await decideFirst(page, '/ars/demandes/', { approve: true, see: j.see });
      assert.match(done, /Votre décision est enregistrée/);
      await j.see('demande-decidee');
      await page.getByRole('button', { name: 'Se déconnecter' }).click();
      await arsLogin(page, stack, agent);
      assert.equal(await page.locator(`a[href="/ars/demandes/${request}"]`).count(), 0, 'decided: out of the queue');
    });
  });

  for (const device of ['desktop', 'phone']) {
    const who = WHO[device];
    test(`${device}: agent added by the CLI, enrolled with TOTP, logged in with TOTP, an anomaly decided, coordinates set on behalf with the evidence`, async () => {
      // caducee ars agent add: a refused département, then the agent and their link.
      const bad = await stack.cli(['ars', 'agent', 'add', '--email', who.email, '--name', 'X', '--departments', '20']);
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /« 20 » n'est pas un code de département/);
      // The link is made of the public URL of the configuration, as the server's.
      const out = await stack.cliOk(['ars', 'agent', 'add', '--email', who.email, '--name', `Agent ${device}`, '--departments', who.departments],
        { env: { CADUCEE_PUBLIC_URL: stack.base } });
      const link = out.split('\n').find((l) => l.startsWith(`${stack.base}/ars/enrolement/`));
      assert.ok(link, out);
      const anomaly = await fileAnomaly(stack, who.persona.idnat);

      await runJourney(browser, stack, device, 'agent', { artefacts: ARTEFACTS, tag: 'ars' }, async (j, page) => {
        // Enrolment: the link's page only shows a button.
        assert.equal((await page.goto(link)).status(), 200);
        await j.heading("Activer votre accès à l'espace ARS");
        await j.see('enrolement');
        await page.getByRole('button', { name: "Commencer l'activation" }).click();
        await j.heading('Choisissez votre mot de passe');
        await page.locator('#mot_de_passe').fill('motdepasse');
        await page.locator('#mot_de_passe_confirmation').fill('motdepasse');
        await page.getByRole('button', { name: 'Continuer' }).click();
        await page.getByText('Le mot de passe doit compter au moins 12 caractères.').first().waitFor();
        await j.see('mot-de-passe-refuse');
        await page.locator('#mot_de_passe').fill(PASSWORD);
        await page.locator('#mot_de_passe_confirmation').fill(PASSWORD);
        await page.getByRole('button', { name: 'Continuer' }).click();
        await j.heading("Associez votre application d'authentification");
        const qr = page.locator('img[src="/ars/activation/qr.svg"]');
        await qr.waitFor();
        assert.ok(await qr.evaluate((img) => img.complete && img.naturalWidth > 0), 'the QR code is drawn');
        await j.see('totp');
        const shown = await page.locator('p', { hasText: "Clé à saisir dans l'application" }).locator('.identifiant').innerText();
        const secret = base32(shown);
        assert.equal(secret.length, 20);
        await page.locator('#code').fill(totp(secret, Date.now() / 1000));
        await page.getByRole('button', { name: "Terminer l'activation" }).click();
        await j.heading('Files de traitement');
        await page.getByText('Votre accès est activé.').waitFor();
        await j.see('accueil');
        // The link is spent.
        const again = await fetch(link);
        assert.equal(again.status, 404);

        // Logout, then login: password, then the next TOTP code (the enrolment's is spent).
        await page.getByRole('button', { name: 'Se déconnecter' }).click();
        await j.heading("Connexion à l'espace ARS");
        await page.getByText("Vous êtes déconnecté de l'espace ARS.").waitFor();
        await j.see('connexion');
        await page.locator('#email').fill(who.email);
        await page.locator('#mot_de_passe').fill(PASSWORD);
        await page.getByRole('button', { name: 'Se connecter' }).click();
        await j.heading('Code de vérification');
        await page.locator('#code').fill('000000' === totp(secret, Date.now() / 1000 + 30) ? '111111' : '000000');
        await page.getByRole('button', { name: 'Valider' }).click();
        await page.getByText("Ce code n'est pas valide ou a déjà été utilisé.").first().waitFor();
        await j.see('code-refuse');
        // An app a few seconds ahead shows the next step's code: accepted, and later than
        // the enrolment's.
        await page.locator('#code').fill(totp(secret, Date.now() / 1000 + 30));
        await page.getByRole('button', { name: 'Valider' }).click();
        await j.heading('Files de traitement');

        // The anomaly report of the agent's département, with its age.
        const item = page.locator(`a[href="/ars/signalements/${anomaly}"]`);
        await item.waitFor();
        await page.getByText(/Reçu il y a 3 jours — département/).first().waitFor();
        await item.click();
        await j.heading("Signalement d'anomalie");
        await j.see('signalement');
        await page.getByRole('button', { name: 'Prendre en charge' }).click();
        await page.getByText('Vous avez pris en charge ce signalement.').waitFor();
        await page.getByLabel('Le signalement est rejeté (la donnée du répertoire est juste)').check();
        await page.getByRole('button', { name: 'Enregistrer la décision' }).click();
        await page.getByText('Indiquez le motif du rejet.').first().waitFor();
        await j.see('motif-obligatoire');
        await page.getByLabel('La donnée a été corrigée').check();
        await page.locator('#motif').fill('Adresse corrigée dans le répertoire.');
        await page.getByRole('button', { name: 'Enregistrer la décision' }).click();
        await page.getByText('Votre décision est enregistrée.').waitFor();
        await j.see('decision');

        // The professional's record, then the coordinates on their behalf.
        await page.getByRole('link', { name: 'Ouvrir la fiche du professionnel' }).click();
        await j.heading(`${who.persona.firstName} ${who.persona.lastName}`);
        await j.see('fiche');
        await page.getByRole('link', { name: 'Renseigner les coordonnées pour le compte du professionnel' }).click();
        await page.getByText("l'ARS peut intervenir pour lui permettre l'accès au portail").waitFor();
        await j.see('coordonnees');
        const email = `${who.persona.firstName.toLowerCase()}.nouveau@exemple.fr`;
        await page.locator('#email').fill(email);
        await page.locator('#mobile').fill(who.mobile);
        await page.locator('#adresse').fill('3 rue des Olivettes, 44000 Nantes');
        // A file that is not a PDF, whatever its name says.
        await page.locator('#piece').setInputFiles({ name: 'cni.pdf', mimeType: 'application/pdf', buffer: Buffer.from('<html>pas un pdf</html>') });
        await page.getByRole('button', { name: 'Enregistrer les coordonnées' }).click();
        await page.getByText('Le fichier doit être un PDF, une image JPEG ou PNG.').first().waitFor();
        await j.see('piece-refusee');
        assert.equal(await page.locator('#email').inputValue(), email, 'what was typed is kept');
        await page.locator('#piece').setInputFiles({ name: 'cni.pdf', mimeType: 'application/pdf', buffer: Buffer.from('%PDF-1.4\n1 0 obj << >> endobj\n%%EOF\n') });
        await page.getByRole('button', { name: 'Enregistrer les coordonnées' }).click();
        await page.getByText('Les coordonnées sont enregistrées').waitFor();
        await page.getByRole('link', { name: 'cni.pdf' }).first().waitFor();
        await j.see('coordonnees-enregistrees');
      });

      // The registry has them at once (the e-CPS activation reads them there).
      const record = JSON.parse(await stack.cliOk(['registry', 'get', who.persona.rpps]));
      assert.equal(record.contact.email, `${who.persona.firstName.toLowerCase()}.nouveau@exemple.fr`);
      assert.equal(record.contact.mobile, `+33${who.mobile.replace(/\s/g, '').slice(1)}`);
      // So the e-CPS activation finds them: its codes go to the new e-mail and mobile.
      const started = await stack.cliOk(['ecps', 'activate', 'start', '--server', stack.base, '--id', who.persona.rpps,
        '--store', path.join(stack.dir, `ecps-${device}`)]);
      assert.match(started, /Un code a été envoyé par e-mail à/);
      const outbox = await (await fetch(`${stack.base}/dev/outbox`)).text();
      assert.ok(outbox.includes(record.contact.email), 'the activation code sent to the e-mail the agency set');
    });
  }
});
