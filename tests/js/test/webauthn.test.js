// PSC-02 and PSC-07 in Chromium: the login page's four tabs (keyboard, and links without
// script), and security keys with Chromium's virtual authenticator (CDP WebAuthn domain:
// a resident-key, user-verifying authenticator). A professional logs in with the e-CPS on
// the account page (the idp's own login), registers a key, logs out, and logs into the
// demo portal with the key alone; then, with an authenticator that keeps no credential
// (hasResidentKey: false), registers a key and logs in after typing the identifier (an
// unknown identifier told what to do); desktop and phone; axe-core on every page. The stack is
// served on localhost: a WebAuthn relying party id cannot be an IP address.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CHROMIUM, launchChromium } from '../lib/browser.js';
import { runJourney } from '../lib/journeys.js';
import { PERSONAS, ROOT, startStack } from '../lib/stack.js';

const ARTEFACTS = path.join(ROOT, 'test-artefacts', 'webauthn');
const REALM = '/auth/realms/esante-wallet';

describe('security keys and the login tabs (PSC-02, PSC-07)', { timeout: 240_000 }, () => {
  let stack;
  let browser;
  const phones = {};

  before(async () => {
    fs.rmSync(ARTEFACTS, { recursive: true, force: true });
    fs.mkdirSync(ARTEFACTS, { recursive: true });
    assert.ok(fs.existsSync(CHROMIUM), `Chromium not found at ${CHROMIUM}`);
    stack = await startStack({ name: 'webauthn', host: 'localhost' });
    [phones.julie, phones.thomas] = await Promise.all([stack.activate(PERSONAS.julie), stack.activate(PERSONAS.thomas)]);
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await stack?.stop();
  });

  /** From the demo portal to the idp's login page. */
  async function toLoginPage(page) {
    await page.goto(`${stack.base}/espaces/demo`);
    await page.getByRole('link', { name: /Se connecter avec Pro Santé Connect/i })
      .or(page.getByRole('button', { name: /Se connecter avec Pro Santé Connect/i }))
      .first().click();
    await page.waitForURL(/\/auth\/realms\/esante-wallet\/login\//);
  }

  test('psc_02_tabs_by_keyboard_and_as_links_without_script', async () => {
    await runJourney(browser, stack, 'desktop', 'onglets', { artefacts: ARTEFACTS, tag: 'webauthn' }, async (j, page) => {
      await toLoginPage(page);
      const tabs = page.getByRole('tab');
      assert.deepEqual(await tabs.allInnerTexts(), ['Application e-CPS', 'Carte CPS', 'Délégation', 'Clé de sécurité']);
      await j.see('onglets');
      // One tab stop, arrow keys, Home / End (WAI-ARIA tabs, automatic activation).
      await page.getByRole('tab', { name: 'Application e-CPS' }).focus();
      await page.keyboard.press('ArrowRight');
      const selected = () => page.locator('[role=tab][aria-selected=true]').innerText();
      assert.equal(await selected(), 'Carte CPS');
      assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Carte CPS');
      assert.ok(await page.locator('#panneau-carte').isVisible());
      assert.ok(!(await page.locator('#panneau-ecps').isVisible()));
      await page.keyboard.press('End');
      assert.equal(await selected(), 'Clé de sécurité');
      assert.match(page.url(), /\?tab=cle$/, 'the address keeps the tab');
      await j.see('onglet-cle');
      await page.keyboard.press('ArrowRight');
      assert.equal(await selected(), 'Application e-CPS', 'wraps around');
      await page.keyboard.press('ArrowLeft');
      await page.keyboard.press('Home');
      assert.equal(await selected(), 'Application e-CPS');
      assert.equal(await page.locator('[role=tab][tabindex="0"]').count(), 1, 'one tab stop');
    });

    // Without script: each tab is a link, and the server shows its panel.
    const context = await browser.newContext({ javaScriptEnabled: false, locale: 'fr-FR' });
    try {
      const page = await context.newPage();
      await toLoginPage(page);
      await page.getByRole('tab', { name: 'Clé de sécurité' }).click();
      await page.waitForURL(/\?tab=cle$/);
      assert.ok(await page.locator('#panneau-cle').isVisible(), 'the key panel is shown');
      assert.ok(!(await page.locator('#panneau-ecps').isVisible()), 'the e-CPS panel is hidden');
      assert.match(await page.locator('#panneau-cle').innerText(), /demandent JavaScript/);
      await page.getByRole('tab', { name: 'Carte CPS' }).click();
      await page.waitForURL(/\?tab=carte$/);
      assert.ok(await page.locator('#panneau-carte').isVisible());
      assert.equal(await page.getByRole('tab', { name: 'Carte CPS' }).getAttribute('aria-selected'), 'true');
      await page.screenshot({ path: path.join(ARTEFACTS, 'sans-script-carte.png'), fullPage: true });
    } finally {
      await context.close();
    }
  });

  for (const [device, who] of [['desktop', 'julie'], ['phone', 'thomas']]) {
    test(`psc_07_${device}_register_a_key_then_log_in_with_the_key_alone`, async () => {
      const persona = PERSONAS[who];
      await runJourney(browser, stack, device, 'cle', { artefacts: ARTEFACTS, tag: 'webauthn' }, async (j, page) => {
        const cdp = await j.context.newCDPSession(page);
        await cdp.send('WebAuthn.enable');
        const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
          options: {
            protocol: 'ctap2', transport: 'usb', hasResidentKey: true,
            hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true,
          },
        });

        // 1. The account page asks for a login through the idp itself, then comes back.
        await page.goto(`${stack.base}${REALM}/account`);
        await page.waitForURL(/\/auth\/realms\/esante-wallet\/login\//);
        await page.locator('#identifier').fill(persona.rpps);
        await page.locator('#se-connecter').click();
        const codeEl = page.locator('#code-ecps');
        await codeEl.waitFor({ timeout: 10_000 });
        const approved = phones[who].approveOk((await codeEl.innerText()).trim());
        await page.waitForURL((u) => u.pathname === `${REALM}/account`, { timeout: 30_000 });
        await approved;
        await j.heading('Mon compte');
        await j.see('compte');
        assert.match(await page.locator('body').innerText(), /Aucune clé de sécurité/);

        // 2. Register a key with a name (the virtual authenticator answers).
        await page.getByLabel('Nom de la nouvelle clé').fill('Clé du cabinet');
        await page.getByRole('button', { name: 'Ajouter une clé de sécurité' }).click();
        await page.locator('.nom-cle', { hasText: 'Clé du cabinet' }).waitFor({ timeout: 15_000 });
        const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
        assert.equal(credentials.length, 1);
        assert.equal(credentials[0].isResidentCredential, true, 'a discoverable credential');
        await j.see('cle-enregistree');

        // 3. Rename it (a form: works without script too).
        await page.getByLabel('Nouveau nom').fill('Clé USB du cabinet');
        await page.getByRole('button', { name: 'Renommer' }).click();
        await page.getByText('La clé a été renommée.').waitFor();
        assert.equal(await page.locator('.nom-cle').innerText(), 'Clé USB du cabinet');

        // 4. Log out (the idp's end-session, confirmed).
        await page.getByRole('link', { name: 'Se déconnecter' }).click();
        await page.locator('#se-deconnecter').click();
        await page.waitForLoadState('load');

        // 5. The demo portal, the key alone: no identifier typed.
        await toLoginPage(page);
        await page.getByRole('tab', { name: 'Clé de sécurité' }).click();
        await j.see('onglet-cle');
        await page.getByRole('button', { name: 'Se connecter avec une clé de sécurité' }).click();
        await page.waitForURL((u) => u.pathname.startsWith('/espaces/demo'), { timeout: 30_000 });
        await page.waitForLoadState('load');
        const text = await page.locator('body').innerText();
        assert.ok(text.includes(persona.idnat), 'logged in as the key\'s professional');
        assert.match(text, /SECURITY_KEY|hwk/, 'the tokens say a security key was used');
        await j.see('connecte-par-cle');
        const after = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
        assert.ok(after.credentials[0].signCount >= 1, 'the key signed');

        // 6. A copied key (its counter set back) is refused.
        if (device === 'desktop') {
          const cred = after.credentials[0];
          await cdp.send('WebAuthn.removeCredential', { authenticatorId, credentialId: cred.credentialId });
          await cdp.send('WebAuthn.addCredential', { authenticatorId, credential: { ...cred, signCount: 0 } });
          await page.context().clearCookies();
          await toLoginPage(page);
          await page.getByRole('tab', { name: 'Clé de sécurité' }).click();
          await page.getByRole('button', { name: 'Se connecter avec une clé de sécurité' }).click();
          await page.getByText(/semble avoir été copiée/).waitFor({ timeout: 15_000 });
          await j.see('cle-copiee-refusee');
        }
      });
    });
  }

  /** An RPPS number nobody has: 10 digits and their Luhn key. */
  function rppsOf(first10) {
    let sum = 0;
    for (let i = 0; i < 10; i++) {
      let d = Number(first10[9 - i]);
      if (i % 2 === 0) { d *= 2; if (d > 9) d -= 9; }
      sum += d;
    }
    return first10 + String((10 - (sum % 10)) % 10);
  }

  // A key that keeps no credential of its own (hasResidentKey: false, as many FIDO2 keys
  // with few slots): registered all the same, it logs in after the identifier is typed,
  // the challenge naming that professional's keys (allowCredentials).
  for (const [device, who] of [['desktop', 'julie'], ['phone', 'thomas']]) {
    test(`psc_07_${device}_register_a_non_resident_key_then_log_in_after_typing_the_identifier`, async () => {
      const persona = PERSONAS[who];
      await runJourney(browser, stack, device, 'cle-identifiant', { artefacts: ARTEFACTS, tag: 'webauthn' }, async (j, page) => {
        const cdp = await j.context.newCDPSession(page);
        await cdp.send('WebAuthn.enable');
        const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
          options: {
            protocol: 'ctap2', transport: 'usb', hasResidentKey: false,
            hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true,
          },
        });

        // 1. e-CPS login to the account page, a key registered there.
        await page.goto(`${stack.base}${REALM}/account`);
        await page.waitForURL(/\/auth\/realms\/esante-wallet\/login\//);
        await page.locator('#identifier').fill(persona.rpps);
        await page.locator('#se-connecter').click();
        const codeEl = page.locator('#code-ecps');
        await codeEl.waitFor({ timeout: 10_000 });
        const approved = phones[who].approveOk((await codeEl.innerText()).trim());
        await page.waitForURL((u) => u.pathname === `${REALM}/account`, { timeout: 30_000 });
        await approved;
        await page.getByLabel('Nom de la nouvelle clé').fill('Clé sans résident');
        await page.getByRole('button', { name: 'Ajouter une clé de sécurité' }).click();
        await page.locator('.nom-cle', { hasText: 'Clé sans résident' }).waitFor({ timeout: 15_000 });
        const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
        assert.equal(credentials.length, 1);
        assert.equal(credentials[0].isResidentCredential, false, 'a credential the key does not keep');
        await page.getByRole('link', { name: 'Se déconnecter' }).click();
        await page.locator('#se-deconnecter').click();
        await page.waitForLoadState('load');

        // 2. The key tab: the identifier form is labelled and reached by keyboard.
        await toLoginPage(page);
        await page.getByRole('tab', { name: 'Clé de sécurité' }).click();
        const form = page.locator('#connexion-cle-identifiant');
        assert.equal(await form.getAttribute('aria-labelledby'), 'titre-cle-identifiant');
        await page.locator('#cle-identifier').waitFor();

        // 3. An identifier nobody has (desktop): the key has nothing for it, the page says
        //    what to do, the same as a wrong key (the decoys name no credential it holds).
        if (device === 'desktop') {
          await page.locator('#cle-identifier').fill(rppsOf('1999990099'));
          await page.getByRole('button', { name: 'Continuer avec ma clé de sécurité' }).click();
          await page.locator('#etat-cle-identifiant', { hasText: /Vérifiez l'identifiant saisi/ }).waitFor({ timeout: 15_000 });
          await j.see('cle-identifiant-inconnu');
        }

        // 4. Its own identifier, typed, remembered, and the key.
        await page.locator('#cle-identifier').fill(persona.rpps);
        await page.locator('#cle-remember').check();
        await page.locator('#cle-identifier').focus();
        await page.keyboard.press('Tab');
        assert.equal(await page.evaluate(() => document.activeElement.id), 'cle-remember');
        await page.keyboard.press('Tab');
        assert.equal(await page.evaluate(() => document.activeElement.id), 'se-connecter-cle-identifiant');
        await j.see('cle-identifiant-saisi');
        await page.keyboard.press('Enter');
        await page.waitForURL((u) => u.pathname.startsWith('/espaces/demo'), { timeout: 30_000 });
        await page.waitForLoadState('load');
        const text = await page.locator('body').innerText();
        assert.ok(text.includes(persona.idnat), 'logged in as the professional typed');
        assert.match(text, /SECURITY_KEY|hwk/, 'the tokens say a security key was used');
        await j.see('connecte-apres-identifiant');
        const after = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
        assert.ok(after.credentials[0].signCount >= 1, 'the key signed');

        // 5. « Mémoriser mon identifiant sur ce poste » was honoured.
        const remembered = (await page.context().cookies()).find((c) => c.name.endsWith('caducee_identifiant'));
        assert.ok(remembered && remembered.value.includes(persona.rpps), 'the identifier is remembered');
      });
    });
  }
});
