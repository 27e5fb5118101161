// What the portals' browser journeys share: a journey in a fresh browser context whose
// `see(label)` saves a screenshot and audits the page (the accessibility basics and axe-core,
// WCAG 2.1 A/AA, no violation of impact serious or critical), and the login by Pro Santé
// Connect with the e-CPS approved by the authenticator CLI.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

import { a11yProblems, axeProblems, VIEWPORTS } from './browser.js';

/** One journey on `device` (`desktop` or `phone`), its screenshots in `artefacts`. */
export async function openJourney(browser, stack, device, name, { artefacts, tag }) {
  const context = await browser.newContext(VIEWPORTS[device]);
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  let step = 0;
  const prefix = `${name}-${device}`;
  const shot = async (label) => {
    step += 1;
    await page.screenshot({ path: path.join(artefacts, `${prefix}-${String(step).padStart(2, '0')}-${label}.png`), fullPage: true });
  };
  const see = async (label) => {
    await page.waitForLoadState('load');
    await shot(label);
    assert.deepEqual(await a11yProblems(page, { phone: device === 'phone' }), [], `accessibility of ${label} (${page.url()})`);
    assert.deepEqual(await axeProblems(page), [], `axe-core audit of ${label} (${page.url()})`);
  };
  const heading = async (text) => {
    await page.getByRole('heading', { level: 1, name: text, exact: true }).waitFor({ timeout: 15_000 });
  };
  const fail = async (e) => {
    await shot('echec').catch(() => {});
    const log = path.join(artefacts, `${prefix}-caducee.log`);
    fs.writeFileSync(log, stack.logTail(400));
    console.error(`[${tag} ${prefix}] failed on ${page.url()}; screenshots in ${artefacts}, server log ${log}; its end:\n${stack.logTail(15)}`);
    throw e;
  };
  const done = () => assert.deepEqual(errors, [], 'no JavaScript error on the pages');
  return { context, page, see, heading, fail, done, close: () => context.close() };
}

/** Runs `body(j, page)` in a fresh journey, then checks the pages raised no script error. */
export async function runJourney(browser, stack, device, name, opts, body) {
  const j = await openJourney(browser, stack, device, name, opts);
  try {
    await body(j, j.page);
    j.done();
  } catch (e) {
    await j.fail(e);
  } finally {
    await j.close();
  }
}

/** The portal's Pro Santé Connect button (`#psc`), the e-CPS approved by the phone (the CLI),
 *  back on `portal`. */
export async function pscLogin(j, persona, phone, portal) {
  const { page } = j;
  await page.locator('#psc').click();
  await page.waitForURL(/\/auth\/realms\/esante-wallet\/login\//);
  await page.locator('#identifier').waitFor();
  await page.locator('#identifier').fill(persona.rpps);
  await page.locator('#se-connecter').click();
  const codeEl = page.locator('#code-ecps');
  await codeEl.waitFor({ timeout: 10_000 });
  await j.see('ecps-code');
  const code = (await codeEl.innerText()).trim();
  const approved = phone.approveOk(code);
  await page.waitForURL((u) => u.pathname.startsWith(portal), { timeout: 30_000 });
  await approved;
}
