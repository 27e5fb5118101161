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
import { chromium } from 'playwright-core';

import { createRequire } from 'node:module';

import { PERSONAS, ROOT, sleep, startStack } from '../lib/stack.js';

// axe-core's browser bundle, evaluated in the page through the DevTools protocol: the pages'
// content security policy forbids inline scripts, and must not be bypassed to audit them.
const AXE_SOURCE = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** axe-core's violations of impact serious or critical on the current page (empty: fine). */
async function axeProblems(page) {
  if (!(await page.evaluate(() => typeof window.axe !== 'undefined'))) await page.evaluate(AXE_SOURCE);
  const result = await page.evaluate(() => window.axe.run(document, {
    runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
    resultTypes: ['violations'],
  }));
  return result.violations
    .filter((v) => ['serious', 'critical'].includes(v.impact))
    .map((v) => `${v.impact} ${v.id}: ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`);
}

const CHROMIUM = process.env.CADUCEE_TEST_CHROMIUM || '/usr/bin/chromium';
const ARTEFACTS = path.join(ROOT, 'test-artefacts', 'journey');

const VIEWPORTS = {
  desktop: { viewport: { width: 1280, height: 800 } },
  phone: {
    viewport: { width: 390, height: 844 }, deviceScaleFactor: 3, isMobile: true, hasTouch: true,
    userAgent: 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Mobile Safari/537.36',
  },
};

/** The accessibility basics of the current page; returns a list of problems (empty: fine). */
async function a11yProblems(page, { phone = false } = {}) {
  return page.evaluate((isPhone) => {
    const problems = [];
    const lang = document.documentElement.getAttribute('lang') || '';
    if (!/^fr\b/i.test(lang)) problems.push(`<html lang="${lang}"> is not French`);
    if (!document.title.trim()) problems.push('empty <title>');
    const visible = (el) => {
      const s = getComputedStyle(el);
      const r = el.getBoundingClientRect();
      return s.visibility !== 'hidden' && s.display !== 'none' && (r.width > 0 || r.height > 0);
    };
    for (const el of document.querySelectorAll('input, select, textarea')) {
      if (['hidden', 'submit', 'button', 'image', 'reset'].includes(el.type) || !visible(el)) continue;
      const labelled = (el.labels && [...el.labels].some((l) => l.textContent.trim()))
        || el.getAttribute('aria-label')?.trim()
        || (el.getAttribute('aria-labelledby') || '').split(/\s+/).some((id) => document.getElementById(id)?.textContent.trim());
      if (!labelled) problems.push(`${el.tagName.toLowerCase()}[name=${el.name}] has no label`);
    }
    for (const el of document.querySelectorAll('button, input[type=submit], a[href]')) {
      if (!visible(el)) continue;
      const name = (el.textContent || el.value || el.getAttribute('aria-label') || el.getAttribute('title') || '').trim()
        || [...el.querySelectorAll('img[alt]')].map((i) => i.alt).join('').trim();
      if (!name) problems.push(`${el.tagName.toLowerCase()} without an accessible name: ${el.outerHTML.slice(0, 120)}`);
    }
    for (const img of document.querySelectorAll('img')) {
      if (!img.hasAttribute('alt')) problems.push(`img without alt: ${img.src}`);
    }
    if (isPhone && document.documentElement.scrollWidth > window.innerWidth + 1) {
      problems.push(`horizontal scrolling on a phone: page ${document.documentElement.scrollWidth}px wide for a ${window.innerWidth}px screen`);
    }
    return problems;
  }, phone);
}

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
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
    });
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
        assert.equal(await page.locator('select[name=identifier_type]').inputValue(), 'rpps', 'RPPS is the default identifier type');

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
        const remember = page.locator('input[name=remember]');
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
