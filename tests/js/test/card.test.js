// The CPS card login (PSC-06) in Debian's Chromium against a real `caducee serve --demo`:
// the demo's test authority and Julie Martin's card (`data/pki/demo-card.p12`, its password
// printed by the server) handed to the browser with Playwright's `clientCertificates`, as a
// professional imports their card; on a desktop window and a 390×844 phone: the demo portal,
// "Se connecter avec Pro Santé Connect", the "Carte CPS" tab, the card host (its own TLS
// port, a client certificate required), back on the portal with `authMode: "CARD"`; then
// "Ma CPS" declares the card lost and the next card login is refused with the French page.
// PSC-04 with the card: on /ecps, « Activer avec ma carte CPS » goes to the card host and
// back, the e-CPS password only, then a login approved by number matching on that page.
// Accessibility basics and axe-core on every page; screenshots under test-artefacts/card/.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { a11yProblems, axeProblems, launchChromium, VIEWPORTS } from '../lib/browser.js';
import { freePort, PERSONAS, ROOT, startStack } from '../lib/stack.js';

const ARTEFACTS = path.join(ROOT, 'test-artefacts', 'card');
const JULIE = PERSONAS.julie;
const PORTAL = '/espaces/demo';

describe('CPS card login (PSC-06)', () => {
  let stack;
  let browser;
  let cardPort;

  before(async () => {
    fs.mkdirSync(ARTEFACTS, { recursive: true });
    cardPort = await freePort();
    stack = await startStack({
      name: 'card',
      notifications: false,
      env: { CADUCEE_CARD_LISTEN: `127.0.0.1:${cardPort}` },
    });
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await stack?.stop();
  });

  /** A browser context holding Julie's card (or `pfxPath`). */
  async function withCard(device, pfxPath, passphrase) {
    return browser.newContext({
      ...VIEWPORTS[device],
      // The card host's certificate is signed by the demo's test authority, not a public one.
      ignoreHTTPSErrors: true,
      clientCertificates: [{ origin: `https://127.0.0.1:${cardPort}`, pfxPath, passphrase }],
    });
  }

  async function see(page, device, label) {
    await page.waitForLoadState('load');
    await page.screenshot({ path: path.join(ARTEFACTS, `card-${device}-${label}.png`), fullPage: true });
    assert.deepEqual(await a11yProblems(page, { phone: device === 'phone' }), [], `accessibility of ${label} (${page.url()})`);
    assert.deepEqual(await axeProblems(page), [], `axe-core audit of ${label} (${page.url()})`);
  }

  async function cardLogin(page, device) {
    await page.goto(`${stack.base}${PORTAL}`);
    await page.locator('a.bouton-psc').first().click();
    await page.waitForURL(/\/auth\/realms\/esante-wallet\/login\//);
    await page.locator('#onglet-carte').click();
    await page.locator('#se-connecter-carte').waitFor();
    await see(page, device, 'onglet-carte');
    await page.locator('#se-connecter-carte').click();
  }

  for (const device of ['desktop', 'phone']) {
    test(`PSC-06 card login into the demo portal, then Ma CPS declares it lost (${device})`, async () => {
      const pki = path.join(stack.dir, 'pki');
      // Each device gets a card of its own (the other device's was declared lost).
      let pfx = path.join(pki, 'demo-card.p12');
      let passphrase = fs.readFileSync(path.join(pki, 'demo-card.password'), 'utf8').trim();
      let serial;
      if (device === 'phone') {
        pfx = path.join(stack.dir, 'phone-card.p12');
        passphrase = 'carte du téléphone';
        const pw = path.join(stack.dir, 'phone-card.password');
        fs.writeFileSync(pw, passphrase, { mode: 0o600 });
        const out = await stack.cliOk(['pki', 'issue-card', JULIE.rpps, '--out', pfx, '--password-file', pw]);
        serial = out.match(/numéro de série ([0-9a-f]{32})/)?.[1];
        assert.ok(serial, out);
      }
      const context = await withCard(device, pfx, passphrase);
      const page = await context.newPage();
      const errors = [];
      page.on('pageerror', (e) => errors.push(e.message));
      try {
        await cardLogin(page, device);
        await page.waitForURL((u) => u.pathname.startsWith(PORTAL), { timeout: 20_000 });
        await page.locator('#idnat').waitFor();
        assert.equal((await page.locator('#idnat').innerText()).trim(), `8${JULIE.rpps}`);
        const access = JSON.parse(await page.locator('#access-token').textContent());
        assert.equal(access.authMode, 'CARD');
        const id = JSON.parse(await page.locator('#id-token').textContent());
        assert.deepEqual(id.amr, ['sc', 'pki', 'mfa']);
        await see(page, device, 'portail');

        // Ma CPS, in the same browser (the SSO session of the card login).
        await page.goto(`${stack.issuer}/account/carte`);
        await page.getByRole('heading', { level: 1, name: 'Ma CPS' }).waitFor();
        await see(page, device, 'ma-cps');
        await page.locator('#declarer').click();
        await page.getByText('Choisissez ce qui est arrivé à votre carte').first().waitFor();
        await see(page, device, 'ma-cps-erreur');
        // Julie now holds two active cards (the demo's replacement and this one): she says which.
        if (serial) await page.getByLabel(new RegExp(`Carte ${serial}`)).check();
        await page.getByLabel('Je l\'ai perdue').check();
        await page.locator('#declarer').click();
        await page.getByText('Votre déclaration est enregistrée').waitFor();
        await see(page, device, 'ma-cps-declaree');

        // The card declared lost is refused at once, with the French page (a fresh browser
        // holding the same card: no SSO session to skip the login).
        const again = await withCard(device, pfx, passphrase);
        try {
          const p2 = await again.newPage();
          await cardLogin(p2, device);
          await p2.getByRole('heading', { level: 1, name: 'Votre carte CPS a été révoquée' }).waitFor({ timeout: 20_000 });
          await see(p2, device, 'carte-revoquee');
        } finally {
          await again.close();
        }
        assert.deepEqual(errors, [], 'no JavaScript error on the pages');
      } catch (e) {
        await page.screenshot({ path: path.join(ARTEFACTS, `card-${device}-echec.png`), fullPage: true }).catch(() => {});
        console.error(`[card ${device}] failed on ${page.url()}; server log:\n${stack.logTail(20)}`);
        throw e;
      } finally {
        await context.close();
      }
    });
  }

  for (const device of ['desktop', 'phone']) {
    test(`PSC-04 activate the e-CPS with the CPS card on /ecps, then approve a login by number matching (${device})`, async () => {
      // A card of its own (the demo's may have been declared lost above).
      const pfx = path.join(stack.dir, `ecps-${device}-card.p12`);
      const passphrase = `carte e-CPS ${device}`;
      const pw = path.join(stack.dir, `ecps-${device}-card.password`);
      fs.writeFileSync(pw, passphrase, { mode: 0o600 });
      await stack.cliOk(['pki', 'issue-card', JULIE.rpps, '--out', pfx, '--password-file', pw]);
      const PASSWORD = `mon e-CPS par la carte ${device}`;
      const context = await withCard(device, pfx, passphrase);
      const desk = await browser.newContext(VIEWPORTS.desktop);
      const page = await context.newPage();
      const login = await desk.newPage();
      const errors = [];
      for (const p of [page, login]) p.on('pageerror', (e) => errors.push(e.message));
      try {
        await page.goto(`${stack.base}/ecps`);
        await page.locator('#activer-carte').waitFor();
        assert.equal(await page.locator('#activer-carte').innerText(), 'Activer avec ma carte CPS');
        await see(page, device, 'ecps-activation');
        await page.locator('#activer-carte').click();
        // The card host, then back on /ecps: the password only, no code.
        await page.locator('#etape-carte').waitFor({ state: 'visible', timeout: 20_000 });
        assert.equal(new URL(page.url()).pathname, '/ecps');
        assert.equal(new URL(page.url()).hash, '', 'the token leaves the address bar');
        assert.ok(!(await page.locator('#email_code').isVisible()));
        await see(page, device, 'ecps-carte-reconnue');
        await page.locator('#card_password').fill(PASSWORD);
        await page.locator('#card_password_confirmation').fill(`${PASSWORD}!`);
        await page.locator('#activer-avec-carte').click();
        await page.locator('#ecps-erreur').waitFor();
        assert.match(await page.locator('#ecps-erreur').innerText(), /mots de passe sont différents/);
        await page.locator('#card_password_confirmation').fill(PASSWORD);
        await page.locator('#activer-avec-carte').click();
        await page.locator('#etape-active').waitFor({ state: 'visible', timeout: 15_000 });
        const until = await page.locator('#valide-jusqu-au').innerText();
        assert.match(until, new RegExp(String(new Date().getFullYear() + 3)), `valid 3 years: ${until}`);
        await see(page, device, 'ecps-active-par-carte');

        // A login on the desktop approved on this page by number matching.
        await login.goto(`${stack.base}${PORTAL}`);
        await login.locator('a.bouton-psc').first().click();
        await login.waitForURL(/\/auth\/realms\/esante-wallet\/login\//);
        await login.locator('#identifier').fill(JULIE.rpps);
        await login.locator('#se-connecter').click();
        await login.locator('#code-ecps').waitFor({ timeout: 10_000 });
        const code = (await login.locator('#code-ecps').innerText()).trim();
        await page.locator('#etape-demande').waitFor({ state: 'visible', timeout: 30_000 });
        const choices = await page.locator('.choix-codes button:visible').allInnerTexts();
        assert.ok(choices.includes(code), `the desktop's code ${code} among ${choices}`);
        await see(page, device, 'ecps-demande');
        await page.locator('#request_password').fill(PASSWORD);
        await page.getByRole('button', { name: code, exact: true }).click();
        await page.locator('#ecps-message').waitFor();
        assert.match(await page.locator('#ecps-message').innerText(), /Authentification validée/);
        await login.waitForURL((u) => u.pathname.startsWith(PORTAL), { timeout: 30_000 });
        await login.locator('#idnat').waitFor();
        assert.equal((await login.locator('#idnat').innerText()).trim(), `8${JULIE.rpps}`);
        await see(page, device, 'ecps-validee');
        assert.deepEqual(errors, [], 'no JavaScript error on the pages');
      } catch (e) {
        await page.screenshot({ path: path.join(ARTEFACTS, `ecps-${device}-echec.png`), fullPage: true }).catch(() => {});
        console.error(`[card e-CPS ${device}] failed on ${page.url()}; server log:\n${stack.logTail(20)}`);
        throw e;
      } finally {
        await context.close();
        await desk.close();
      }
    });
  }
});
