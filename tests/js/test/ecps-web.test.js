// The web authenticator (/ecps, PSC-03, PSC-04, PSC-05) against a real `caducee serve --demo`
// with a real SMTP server and SMS gateway, in Debian's Chromium: two pages of one test,
// the login page on a desktop window (demo portal → Pro Santé Connect) and /ecps on a
// 390×844 phone.
//   - activation on the phone: the identifier, the masked coordinates, the two codes read
//     from what the SMTP server and the SMS gateway received, a new e-CPS password (mismatch
//     refused in French); the key is a non-extractable P-256 CryptoKey kept by IndexedDB;
//   - a login approved by number matching: the code of the desktop page picked among the
//     three on the phone after the e-CPS password (a wrong password first: attempts left);
//   - a wrong pick denies the login;
//   - the activation request on the login page itself for an identifier without an e-CPS
//     ("Demande d'activation e-CPS", masked coordinates, "ENVOYER MA DEMANDE D'ACTIVATION",
//     "Vos coordonnées sont incorrectes ?"), finished on /ecps in the same browser;
//   - the page survives a reload (the key read back from IndexedDB), the manifest makes
//     an installable app;
//   - the accessibility basics and axe-core on every page; screenshots in
//     test-artefacts/ecps-web/.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { a11yProblems, axeProblems, launchChromium, VIEWPORTS } from '../lib/browser.js';
import { codeInEmail, codeInSms, eventually, PERSONAS, ROOT, startStack } from '../lib/stack.js';

const ARTEFACTS = path.join(ROOT, 'test-artefacts', 'ecps-web');
const CAMILLE = PERSONAS.camille;
const THOMAS = PERSONAS.thomas;
const PASSWORD = 'mon e-CPS dans le navigateur';

describe('the web authenticator /ecps (PSC-03, PSC-04)', () => {
  let stack;
  let browser;

  before(async () => {
    fs.mkdirSync(ARTEFACTS, { recursive: true });
    stack = await startStack({ name: 'ecps-web' });
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await stack?.stop();
  });

  /** The codes the real SMTP server and SMS gateway received for `persona`. */
  const codesOf = async (persona) => {
    const mail = await eventually(`the activation e-mail to ${persona.email}`,
      () => stack.smtp.take((m) => m.includes(persona.email) && codeInEmail(m)));
    const sms = await eventually(`the activation SMS to ${persona.mobile}`,
      () => stack.sms.take((m) => m.to === persona.mobile && codeInSms(m.text)));
    return { email: codeInEmail(mail), sms: codeInSms(sms.text) };
  };

  test('psc_04 the login page offers the activation request to an identifier without e-CPS, finished on /ecps', async () => {
    const ctx = await browser.newContext(VIEWPORTS.desktop);
    const page = await ctx.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const see = async (label) => {
      await page.screenshot({ path: path.join(ARTEFACTS, `demande-${label}.png`), fullPage: true });
      assert.deepEqual(await a11yProblems(page), [], `accessibility of ${label}`);
      assert.deepEqual(await axeProblems(page), [], `axe-core audit of ${label}`);
    };
    try {
      await page.goto(`${stack.base}/espaces/demo`);
      await page.getByRole('link', { name: /Se connecter avec Pro Santé Connect/i })
        .or(page.getByRole('button', { name: /Se connecter avec Pro Santé Connect/i })).first().click();
      await page.waitForURL(/\/auth\/realms\/esante-wallet\/login\//);
      await page.locator('#identifier').fill(THOMAS.rpps);
      await page.locator('#se-connecter').click();
      await page.getByRole('heading', { name: "Demande d'activation e-CPS" }).waitFor({ timeout: 10_000 });
      const email = await page.locator('#demande-email').innerText();
      const sms = await page.locator('#demande-sms').innerText();
      assert.ok(email.includes('*') && !email.includes(THOMAS.email.split('@')[0]), `masked e-mail: ${email}`);
      assert.ok(sms.includes('*') && !sms.includes(THOMAS.mobile.slice(4)), `masked mobile: ${sms}`);
      const wrong = page.getByRole('link', { name: 'Vos coordonnées sont incorrectes ?' });
      assert.equal(await wrong.getAttribute('href'), '/erpps/coordonnees-franceconnect');
      await see('page-de-connexion');
      await page.getByRole('button', { name: "ENVOYER MA DEMANDE D'ACTIVATION" }).click();
      await page.waitForURL((u) => u.pathname === '/ecps');
      await page.locator('#email_code').waitFor({ state: 'visible' });
      assert.equal(await page.locator('#indice-email').innerText(), email);
      assert.equal(await page.locator('#indice-sms').innerText(), sms);
      assert.equal(new URL(page.url()).hash, '', 'the activation leaves the address bar');
      await see('ecps-codes');
      const codes = await codesOf(THOMAS);
      await page.locator('#email_code').fill(codes.email);
      await page.locator('#sms_code').fill(codes.sms);
      await page.locator('#password').fill(PASSWORD);
      await page.locator('#password_confirmation').fill(PASSWORD);
      await page.locator('#activer').click();
      await page.locator('#etape-active').waitFor({ state: 'visible', timeout: 15_000 });
      await see('ecps-active');
      assert.deepEqual(errors, [], 'no JavaScript error on the pages');
    } catch (e) {
      await page.screenshot({ path: path.join(ARTEFACTS, 'echec-demande.png'), fullPage: true }).catch(() => {});
      fs.writeFileSync(path.join(ARTEFACTS, 'caducee.log'), stack.logTail(400));
      throw e;
    } finally {
      await ctx.close();
    }
  });

  test('psc_04 psc_03 psc_05 activate on a phone page, approve a login by number matching, a wrong pick denies, deactivate from the account page', async () => {
    const desk = await browser.newContext(VIEWPORTS.desktop);
    const phoneCtx = await browser.newContext(VIEWPORTS.phone);
    const login = await desk.newPage();
    const phone = await phoneCtx.newPage();
    const errors = [];
    for (const p of [login, phone]) p.on('pageerror', (e) => errors.push(e.message));
    let step = 0;
    const see = async (page, label, isPhone) => {
      step += 1;
      await page.screenshot({ path: path.join(ARTEFACTS, `${String(step).padStart(2, '0')}-${label}.png`), fullPage: true });
      assert.deepEqual(await a11yProblems(page, { phone: isPhone }), [], `accessibility of ${label}`);
      assert.deepEqual(await axeProblems(page), [], `axe-core audit of ${label}`);
    };
    try {
      // 1. The phone page, installable: the manifest with display standalone and an icon.
      const res = await phone.goto(`${stack.base}/ecps`);
      assert.equal(res.status(), 200);
      const csp = res.headers()['content-security-policy'] || '';
      assert.ok(!csp.includes('unsafe-inline'), `strict CSP: ${csp}`);
      const manifestHref = await phone.locator('link[rel=manifest]').getAttribute('href');
      const manifest = await (await fetch(new URL(manifestHref, stack.base))).json();
      assert.equal(manifest.display, 'standalone');
      assert.equal(manifest.start_url, '/ecps');
      const icon = await fetch(new URL(manifest.icons[0].src, stack.base));
      assert.equal(icon.status, 200);
      await phone.locator('#identifier').waitFor();
      await see(phone, 'ecps-activation', true);

      // 2. An empty identifier: a French alert; then the RPPS → the masked coordinates.
      await phone.locator('#recevoir-codes').click();
      await phone.locator('#ecps-erreur').waitFor();
      assert.match(await phone.locator('#ecps-erreur').innerText(), /Saisissez votre identifiant/);
      await phone.locator('#identifier').fill(CAMILLE.rpps);
      await phone.locator('#recevoir-codes').click();
      await phone.locator('#email_code').waitFor();
      const emailHint = await phone.locator('#indice-email').innerText();
      const smsHint = await phone.locator('#indice-sms').innerText();
      assert.ok(emailHint && !emailHint.includes(CAMILLE.email), `masked e-mail: ${emailHint}`);
      assert.ok(smsHint && !smsHint.includes(CAMILLE.mobile.slice(3)), `masked mobile: ${smsHint}`);
      await see(phone, 'ecps-codes', true);

      // 3. The codes from the real SMTP server and SMS gateway; a mismatched password first.
      const codes = await codesOf(CAMILLE);
      await phone.locator('#email_code').fill(codes.email);
      await phone.locator('#sms_code').fill(codes.sms);
      await phone.locator('#password').fill(PASSWORD);
      await phone.locator('#password_confirmation').fill(`${PASSWORD}!`);
      await phone.locator('#activer').click();
      await phone.locator('#ecps-erreur').waitFor();
      assert.match(await phone.locator('#ecps-erreur').innerText(), /mots de passe sont différents/);
      await see(phone, 'ecps-mots-de-passe-differents', true);
      await phone.locator('#password_confirmation').fill(PASSWORD);
      await phone.locator('#activer').click();
      await phone.locator('#etape-active').waitFor({ state: 'visible', timeout: 15_000 });
      const until = await phone.locator('#valide-jusqu-au').innerText();
      assert.match(until, new RegExp(String(new Date().getFullYear() + 3)), `valid 3 years: ${until}`);
      // The key kept by IndexedDB is a CryptoKey that cannot be exported.
      const key = await phone.evaluate(() => new Promise((resolve, reject) => {
        const open = indexedDB.open('caducee-ecps', 1);
        open.onsuccess = () => {
          const get = open.result.transaction('device').objectStore('device').get('current');
          get.onsuccess = () => {
            const k = get.result.key;
            resolve({ type: k.type, extractable: k.extractable, alg: k.algorithm.name, curve: k.algorithm.namedCurve });
          };
          get.onerror = () => reject(get.error);
        };
        open.onerror = () => reject(open.error);
      }));
      assert.deepEqual(key, { type: 'private', extractable: false, alg: 'ECDSA', curve: 'P-256' });
      await see(phone, 'ecps-active', true);

      // 4. A reload: the device read back from IndexedDB, still active (GET /device signed).
      await phone.reload();
      await phone.locator('#etape-active').waitFor({ state: 'visible', timeout: 10_000 });

      // 5. The desktop: demo portal → Pro Santé Connect → the identifier → the 2-digit code.
      const loginOnce = async (login) => {
        await login.goto(`${stack.base}/espaces/demo`);
        await login.getByRole('link', { name: /Se connecter avec Pro Santé Connect/i })
          .or(login.getByRole('button', { name: /Se connecter avec Pro Santé Connect/i })).first().click();
        await login.waitForURL(/\/auth\/realms\/esante-wallet\/login\//);
        await login.locator('#identifier').fill(CAMILLE.rpps);
        await login.locator('#se-connecter').click();
        await login.locator('#code-ecps').waitFor({ timeout: 10_000 });
        return (await login.locator('#code-ecps').innerText()).trim();
      };
      const code = await loginOnce(login);
      assert.match(code, /^\d{2}$/);

      // 6. The phone shows the request: the service, the countdown, three codes, one the desktop's.
      await phone.locator('#etape-demande').waitFor({ state: 'visible', timeout: 30_000 });
      const choices = await phone.locator('.choix-codes button:visible').allInnerTexts();
      assert.equal(choices.length, 3);
      assert.equal(new Set(choices).size, 3, `three distinct codes: ${choices}`);
      assert.ok(choices.includes(code), `the desktop's code ${code} among ${choices}`);
      assert.ok((await phone.locator('#service').innerText()).trim().length > 0, 'the asking service');
      const left = Number(await phone.locator('#secondes').innerText());
      assert.ok(left > 60 && left <= 120, `seconds left: ${left}`);
      assert.match(await phone.locator('#decompte').innerText(), /Il vous reste \d+ secondes pour valider votre demande d'authentification/);
      await see(login, 'connexion-code', false);
      await see(phone, 'ecps-demande', true);

      // A wrong password first: the attempts left, the request still open.
      await phone.locator('#request_password').fill('pas le bon mot de passe');
      await phone.getByRole('button', { name: code, exact: true }).click();
      await phone.locator('#ecps-erreur').waitFor();
      assert.match(await phone.locator('#ecps-erreur').innerText(), /Mot de passe e-CPS incorrect.*\d/);
      assert.ok(await phone.locator('#etape-demande').isVisible());

      // 7. The password and the right code: the desktop goes on to the portal, logged in.
      await phone.locator('#request_password').fill(PASSWORD);
      await phone.getByRole('button', { name: code, exact: true }).click();
      await phone.locator('#ecps-message').waitFor();
      assert.match(await phone.locator('#ecps-message').innerText(), /Authentification validée/);
      await login.waitForURL((u) => u.pathname.startsWith('/espaces/demo'), { timeout: 30_000 });
      await login.waitForLoadState('load');
      assert.ok((await login.locator('body').innerText()).includes(CAMILLE.idnat), 'logged in as Camille');
      await see(phone, 'ecps-validee', true);
      await see(login, 'connecte', false);

      // The account page's e-CPS section: activated, valid 3 years.
      await login.goto(`${stack.issuer}/account`);
      await login.locator('#ecps-appareil').waitFor();
      assert.match(await login.locator('#ecps-valide-jusqu-au').innerText(), new RegExp(String(new Date().getFullYear() + 3)));
      await see(login, 'compte-ecps', false);

      // 8. A second login in another desktop window, a wrong pick: the request denied.
      const desk2 = await browser.newContext(VIEWPORTS.desktop);
      const login2 = await desk2.newPage();
      login2.on('pageerror', (e) => errors.push(e.message));
      const code2 = await loginOnce(login2);
      await phone.locator('#etape-demande').waitFor({ state: 'visible', timeout: 30_000 });
      const wrong = (await phone.locator('.choix-codes button:visible').allInnerTexts()).find((c) => c !== code2);
      await phone.locator('#request_password').fill(PASSWORD);
      await phone.getByRole('button', { name: wrong, exact: true }).click();
      await phone.locator('#ecps-erreur').waitFor();
      assert.match(await phone.locator('#ecps-erreur').innerText(), /refusée/);
      await login2.getByRole('alert').first().waitFor({ timeout: 15_000 });
      assert.ok(/\/auth\/realms\/esante-wallet\//.test(login2.url()), `still at the provider: ${login2.url()}`);
      await see(login2, 'connexion-refusee', false);
      await see(phone, 'ecps-refusee', true);
      await desk2.close();

      // 9. "Désactiver mon e-CPS" on the account page (a fresh login): the phone's e-CPS is
      // refused at once, the page says so and offers to activate again (PSC-05).
      await login.goto(`${stack.issuer}/account`);
      await login.locator('#desactiver-ecps').click();
      await login.locator('#ecps-aucune').waitFor();
      await see(login, 'compte-ecps-desactivee', false);
      await phone.reload();
      await phone.locator('#ecps-erreur').waitFor({ state: 'visible' });
      assert.match(await phone.locator('#ecps-erreur').innerText(), /n'est plus valable/);
      assert.ok(await phone.locator('#identifier').isVisible(), 'back to the activation');
      assert.deepEqual(errors, [], 'no JavaScript error on the pages');
    } catch (e) {
      await login.screenshot({ path: path.join(ARTEFACTS, 'echec-connexion.png'), fullPage: true }).catch(() => {});
      await phone.screenshot({ path: path.join(ARTEFACTS, 'echec-ecps.png'), fullPage: true }).catch(() => {});
      fs.writeFileSync(path.join(ARTEFACTS, 'caducee.log'), stack.logTail(400));
      throw e;
    } finally {
      await desk.close();
      await phoneCtx.close();
    }
  });
});
