// The browser journey: a demo persona logs into the demo relying party /espaces/demo with
// Pro Santé Connect, in Debian's Chromium driven by playwright-core — on a desktop window and
// on a phone-sized one. The test plays the phone with `caducee ecps approve`. Each step is
// saved as a screenshot under test-artefacts/journey/ (gitignored); the accessibility basics
// (lang="fr", labelled fields, named buttons, no horizontal scrolling on a phone) are checked
// on every page, and an axe-core audit (WCAG 2.1 A/AA) finds no violation of impact serious or
// critical. The language switch of the page kit is tried once (English, then back).

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { a11yProblems, axeProblems, CHROMIUM, launchChromium, VIEWPORTS } from '../lib/browser.js';
import { PERSONAS, ROOT, sleep, startStack } from '../lib/stack.js';

const ARTEFACTS = path.join(ROOT, 'test-artefacts', 'journey');

describe('browser journey: log into /espaces/demo with Pro Santé Connect (e-CPS)', { timeout: 300_000 }, () => {
  let stack;
  let browser;
  const phones = {};

  before(async () => {
    fs.rmSync(ARTEFACTS, { recursive: true, force: true });
    fs.mkdirSync(ARTEFACTS, { recursive: true });
    assert.ok(fs.existsSync(CHROMIUM), `Chromium not found at ${CHROMIUM} (apt-get install chromium, or set CADUCEE_TEST_CHROMIUM)`);
    stack = await startStack({ name: 'journey' });
    [phones.julie, phones.thomas] = await Promise.all([stack.activate(PERSONAS.julie), stack.activate(PERSONAS.thomas)]);
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await stack?.stop();
  });

  for (const [device, personaKey] of [['desktop', 'julie'], ['phone', 'thomas']]) {
    test(`${device}: ${PERSONAS[personaKey].firstName} ${PERSONAS[personaKey].lastName} logs in with the e-CPS and is back on /espaces/demo with the claims`, async () => {
      const persona = PERSONAS[personaKey];
      const phone = phones[personaKey];
      const context = await browser.newContext({ ...VIEWPORTS[device], locale: 'fr-FR', timezoneId: 'Europe/Paris' });
      const page = await context.newPage();
      const errors = [];
      page.on('pageerror', (e) => errors.push(e.message));
      let step = 0;
      const shot = async (name) => {
        step += 1;
        await page.screenshot({ path: path.join(ARTEFACTS, `${device}-${String(step).padStart(2, '0')}-${name}.png`), fullPage: true });
      };
      const checkA11y = async (where) => {
        const problems = await a11yProblems(page, { phone: device === 'phone' });
        assert.deepEqual(problems, [], `accessibility of ${where} (${page.url()})`);
        assert.deepEqual(await axeProblems(page), [], `axe-core audit of ${where} (${page.url()})`);
      };
      try {
        // 1. The relying party, logged out.
        const res = await page.goto(`${stack.base}/espaces/demo`);
        assert.equal(res.status(), 200);
        await shot('espace-demo');
        await checkA11y('/espaces/demo');

        // The language switch keeps the page: English, then back to French.
        if (device === 'desktop') {
          await page.getByRole('link', { name: 'English' }).click();
          await page.waitForFunction(() => document.documentElement.lang === 'en');
          assert.equal(new URL(page.url()).pathname, '/espaces/demo', 'the switch keeps the page');
          await assert.doesNotReject(page.getByText('Activities sent', { exact: false }).or(page.getByText('To try it')).first().waitFor({ timeout: 2000 }));
          await shot('espace-demo-en');
          assert.deepEqual(await axeProblems(page), [], 'axe-core audit of /espaces/demo in English');
          await page.getByRole('link', { name: 'Français' }).click();
          await page.waitForFunction(() => document.documentElement.lang === 'fr');
          assert.equal(new URL(page.url()).pathname, '/espaces/demo');
        }

        // 2. "Se connecter avec Pro Santé Connect" → the login page of the provider.
        await page.getByRole('link', { name: /Se connecter avec Pro Santé Connect/i })
          .or(page.getByRole('button', { name: /Se connecter avec Pro Santé Connect/i }))
          .first().click();
        await page.waitForURL(/\/auth\/realms\/esante-wallet\/login\//);
        await page.locator('#identifier').waitFor();
        await shot('page-de-connexion');
        await checkA11y('the login page');
        await assert.doesNotReject(page.getByText('Application e-CPS', { exact: false }).first().waitFor({ timeout: 2000 }),
          'the "Application e-CPS" tab');
        assert.equal(await page.locator('#identifier_type').inputValue(), 'rpps', 'RPPS is the default identifier type');

        // 3. An unknown identifier: a French alert, and the form again.
        await page.locator('#identifier').fill('10000000009');
        await page.locator('#se-connecter').click();
        const alert = page.getByRole('alert');
        await alert.first().waitFor({ timeout: 10_000 });
        assert.match(await alert.first().innerText(), /[a-zàâçéèêëîïôûùüÿœ]{3,}/i, 'a message in words');
        await shot('identifiant-inconnu');
        await checkA11y('the login page with an error');

        // 4. The persona's RPPS (without the leading 8), remembered on this browser.
        await page.locator('#identifier').fill(persona.rpps);
        const remember = page.locator('#remember');
        if (device === 'desktop') await remember.check();
        await shot('identifiant-saisi');
        await page.locator('#se-connecter').click();

        // 5. The waiting page: the code and a live countdown.
        const codeEl = page.locator('#code-ecps');
        await codeEl.waitFor({ timeout: 10_000 });
        const code = (await codeEl.innerText()).trim();
        assert.match(code, /^\d{2}$/, 'a 2-digit code');
        await assert.doesNotReject(page.getByText(/Il vous reste/).first().waitFor({ timeout: 2000 }));
        const before = Number(await page.locator('#secondes').innerText());
        assert.ok(before > 60 && before <= 120, `seconds left: ${before}`);
        await shot('attente-code');
        await checkA11y('the waiting page');
        await sleep(2100);
        const later = Number(await page.locator('#secondes').innerText());
        assert.ok(later < before, `the countdown moves: ${before} then ${later}`);
        await page.getByRole('button', { name: /Quitter l.authentification/i })
          .or(page.getByRole('link', { name: /Quitter l.authentification/i })).first().waitFor({ timeout: 2000 });

        // 6. The phone approves; the page goes on by itself, back to the relying party.
        const approved = phone.approveOk(code);
        await page.waitForURL((u) => u.pathname.startsWith('/espaces/demo'), { timeout: 30_000 });
        await approved;
        await page.waitForLoadState('load');
        await shot('connecte');
        await checkA11y('/espaces/demo logged in');
        const text = await page.locator('body').innerText();
        assert.match(text, new RegExp(persona.firstName, 'i'), 'shows the first name');
        assert.match(text, new RegExp(persona.lastName, 'i'), 'shows the last name');
        assert.ok(text.includes(persona.idnat), 'shows the claims (SubjectNameID / idNat)');
        assert.match(text, /eidas1/, 'shows the acr of the ID token');

        // 7. "Se déconnecter": RP-initiated logout through the provider, back on the
        // relying party logged out; the next login asks the e-CPS again (the SSO session
        // ended) and, on the desktop, offers the identifier remembered on this browser.
        await page.getByRole('button', { name: /Se déconnecter/i })
          .or(page.getByRole('link', { name: /Se déconnecter/i })).first().click();
        await page.waitForLoadState('load');
        const confirm = page.getByRole('button', { name: /Se déconnecter|Confirmer|Oui/i });
        if (!page.url().includes('/espaces/demo') && await confirm.count()) {
          await shot('confirmation-deconnexion');
          await confirm.first().click();
        }
        const login = page.getByRole('link', { name: /Se connecter avec Pro Santé Connect/i })
          .or(page.getByRole('button', { name: /Se connecter avec Pro Santé Connect/i })).first();
        await login.waitFor({ timeout: 10_000 });
        assert.ok(new URL(page.url()).pathname.startsWith('/espaces/demo'), `back on the relying party: ${page.url()}`);
        await shot('deconnecte');
        await checkA11y('/espaces/demo logged out');
        await login.click();
        await page.waitForURL(/\/auth\/realms\/esante-wallet\/login\//, { timeout: 10_000 });
        const value = await page.locator('#identifier').inputValue();
        if (device === 'desktop') {
          assert.ok([persona.rpps, persona.idnat].includes(value), `identifier remembered ("Mémoriser mon identifiant"): "${value}"`);
          await shot('identifiant-memorise');
        } else {
          assert.equal(value, '', 'nothing remembered when the box was not ticked');
        }
        assert.deepEqual(errors, [], 'no JavaScript error on the pages');
      } catch (e) {
        await shot('echec').catch(() => {});
        const log = path.join(ARTEFACTS, `${device}-caducee.log`);
        fs.writeFileSync(log, stack.logTail(400));
        console.error(`[journey ${device}] failed on ${page.url()}; screenshots in ${ARTEFACTS}, server log ${log}; its end:\n${stack.logTail(15)}`);
        throw e;
      } finally {
        await context.close();
      }
    });
  }
});
