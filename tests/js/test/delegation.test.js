// Browser journey of the délégation (PSC-08), on a desktop window and on a 390×844 phone, in
// Debian's Chromium driven by playwright-core, against a real upstream OpenID Connect
// provider (lib/delegation-provider.mjs: panva's oidc-provider, its own login and consent
// pages) declared as `[[delegations]]` of `serve --demo`:
//
// the demo portal → "Se connecter avec Pro Santé Connect" → tab "Délégation" → "Se connecter
// avec CHU de test" → the provider's login (password + one-time code) → "Première connexion
// avec CHU de test": the e-CPS login of the same flow pairs the account → the portal logged
// in; then, in a fresh browser, the provider alone logs in (no e-CPS), and the account page
// lists the pairing and removes it.
//
// Every page is saved under test-artefacts/delegation/ and audited (axe-core, WCAG 2.1 A/AA).

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { after, before, describe, test } from 'node:test';

import { launchChromium } from '../lib/browser.js';
import { runJourney } from '../lib/journeys.js';
import { eventually, freePort, PERSONAS, ROOT, startStack } from '../lib/stack.js';

const ARTEFACTS = path.join(ROOT, 'test-artefacts', 'delegation');
const PORTAL = '/espaces/demo';
const CLIENT_ID = 'caducee-js';
const CLIENT_SECRET = 'secret-du-chu-des-parcours-navigateur';
const WHO = { desktop: 'julie', phone: 'thomas' };

describe('browser journey: délégation to an organisation\'s provider (PSC-08)', { timeout: 300_000 }, () => {
  let stack;
  let browser;
  let provider;
  let port;
  const phones = {};

  before(async () => {
    fs.rmSync(ARTEFACTS, { recursive: true, force: true });
    fs.mkdirSync(ARTEFACTS, { recursive: true });
    // The provider's port first: the idp reads its discovery at the first délégation login.
    port = await freePort();
    const secretFile = path.join(ARTEFACTS, 'chu-secret.txt');
    fs.writeFileSync(secretFile, CLIENT_SECRET);
    stack = await startStack({
      name: 'delegation',
      config: `[[delegations]]\nid = "chu"\nname = "CHU de test"\nissuer = "http://127.0.0.1:${port}"\nclient_id = "${CLIENT_ID}"\nclient_secret_file = ${JSON.stringify(secretFile)}\n`,
    });
    // One upstream account per device, each with two factors.
    const accounts = Object.entries(WHO).map(([device, key]) => ({
      sub: `agent-${device}`, name: `${PERSONAS[key].firstName} ${PERSONAS[key].lastName} (mot de passe + code)`, amr: ['pwd', 'otp'],
    }));
    provider = spawn('node', [
      path.join(ROOT, 'tests/js/lib/delegation-provider.mjs'),
      '--port', String(port),
      '--client-id', CLIENT_ID,
      '--client-secret', CLIENT_SECRET,
      '--redirect-uri', `${stack.base}/auth/realms/esante-wallet/broker/chu/endpoint`,
      '--accounts', JSON.stringify(accounts),
    ], { stdio: ['ignore', 'pipe', 'ignore'] });
    const lines = readline.createInterface({ input: provider.stdout });
    await new Promise((resolve, reject) => {
      lines.on('line', (l) => { if (l.startsWith('ISSUER=')) resolve(); });
      provider.on('exit', (c) => reject(new Error(`delegation-provider exited ${c}`)));
    });
    await eventually('the provider\'s discovery', async () => {
      const r = await fetch(`http://127.0.0.1:${port}/.well-known/openid-configuration`).catch(() => undefined);
      return r?.ok ? true : undefined;
    });
    [phones.julie, phones.thomas] = await Promise.all([stack.activate(PERSONAS.julie), stack.activate(PERSONAS.thomas)]);
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    provider?.kill('SIGTERM');
    await stack?.stop();
  });

  const journey = (device, name, body) => runJourney(browser, stack, device, name, { artefacts: ARTEFACTS, tag: 'delegation' }, body);

  /** From the portal to the provider through the tab, its login and consent, back here. */
  async function throughTheProvider(j, page, device) {
    await page.goto(`${stack.base}${PORTAL}`);
    await page.getByRole('link', { name: /Se connecter avec Pro Santé Connect/i })
      .or(page.getByRole('button', { name: /Se connecter avec Pro Santé Connect/i })).first().click();
    await page.waitForURL(/\/auth\/realms\/esante-wallet\/login\//);
    await page.getByRole('tab', { name: 'Délégation' }).click();
    const link = page.getByRole('link', { name: 'Se connecter avec CHU de test' });
    await link.waitFor();
    await j.see('onglet-delegation');
    await link.click();
    await page.waitForURL((u) => u.port === String(port));
    await page.locator(`input[value="agent-${device}"]`).check();
    await page.locator('#idp-login').click();
    const consent = page.locator('#idp-consent');
    await Promise.race([
      consent.waitFor({ timeout: 10_000 }).then(() => consent.click()),
      page.waitForURL((u) => u.port !== String(port), { timeout: 10_000 }),
    ]);
    await page.waitForURL((u) => u.port !== String(port));
  }

  for (const device of ['desktop', 'phone']) {
    const persona = PERSONAS[WHO[device]];
    test(`${device}: first login through the provider paired by e-CPS, then the provider alone`, async () => {
      await journey(device, 'appairage', async (j, page) => {
        await throughTheProvider(j, page, device);
        // Not paired yet: the tab asks for one e-CPS or card login.
        await page.getByText('Première connexion avec CHU de test').waitFor();
        await j.see('premiere-connexion');
        await page.getByRole('link', { name: "Confirmer avec l'application e-CPS" }).click();
        await page.locator('#identifier').fill(persona.rpps);
        await page.locator('#se-connecter').click();
        const codeEl = page.locator('#code-ecps');
        await codeEl.waitFor({ timeout: 10_000 });
        const approved = phones[WHO[device]].approveOk((await codeEl.innerText()).trim());
        await page.waitForURL((u) => u.pathname.startsWith(PORTAL), { timeout: 30_000 });
        await approved;
        await j.see('connecte-apres-appairage');
        assert.ok((await page.locator('body').innerText()).includes(persona.idnat), 'the portal shows the professional');
      });
      // A fresh browser (no SSO session): the provider alone.
      await journey(device, 'delegation-seule', async (j, page) => {
        await throughTheProvider(j, page, device);
        await page.waitForURL((u) => u.pathname.startsWith(PORTAL), { timeout: 30_000 });
        await j.see('connecte-par-delegation');
        const text = await page.locator('body').innerText();
        assert.ok(text.includes(persona.idnat), 'the portal shows the professional');
        assert.match(text, /DELEGATION/, 'authMode of the tokens');
        // The account page lists the pairing, with a button that removes it.
        await page.goto(`${stack.base}/auth/realms/esante-wallet/account`);
        await page.getByRole('heading', { name: 'Délégations' }).waitFor();
        await page.locator('#liste-associations strong', { hasText: 'CHU de test' }).waitFor();
        await j.see('compte-associations');
        await page.getByRole('button', { name: /Retirer l'association/ }).click();
        await page.locator('#aucune-association').waitFor();
        await j.see('compte-association-retiree');
      });
    });
  }
});
