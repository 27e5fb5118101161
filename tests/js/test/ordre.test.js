// Browser journeys of the Ordre des médecins space (/espaces/ordre, seed
// ordre-medecins-mon-espace.txt), one per path of the seed, each on a desktop window and on a
// 390×844 phone, in Debian's Chromium driven by playwright-core:
//
//   - creation by a code sent by e-mail (the login is the registry e-mail; "Créer");
//   - creation by a code sent by SMS (a login e-mail chosen; "Activer") — keyboard only on
//     the desktop (Tab, Space, Enter and typing; a pointer event anywhere fails the test);
//   - forgotten login e-mail (recovery: the old address refused, a new one twice);
//   - password reset by the single-use link (a page with a button; only its POST uses the
//     link, which then is dead);
//   - settings: the password changed with the current one, then the e-mail, confirmed by a
//     code sent to the new address, the old one told;
//   - ACC-01's blocking messages as the user sees them (no match; an account already, with its
//     link to the password recovery; a recovery without a space, with its link to the
//     creation), and the error summary of an empty form.
//
// Codes and links are read from what the real SMTP server and the SMS gateway of the stack
// received, never from the database. Every page visited is saved as a screenshot under
// test-artefacts/ordre/ (gitignored) and audited: the accessibility basics, and axe-core
// (WCAG 2.1 A/AA) with no violation of impact serious or critical. The live password meter is
// watched as the user types ("Sécurité du mot de passe : Faible", then stronger), and the
// language switch is tried once, in the middle of a journey, keeping the page and the flow.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { a11yProblems, axeProblems, launchChromium, VIEWPORTS } from '../lib/browser.js';
import {
  codeByEmail, codeBySms, createAccount, GOOD_PASSWORD, mailText, PORTAL, preparePhysicians, resetLink, takeMail,
} from '../lib/portal.js';
import { ROOT, startStack } from '../lib/stack.js';

const ARTEFACTS = path.join(ROOT, 'test-artefacts', 'ordre');
const NEW_PASSWORD = 'lanterne-corsaire-myrtille-77';
const THIRD_PASSWORD = 'tamaris-escalier-boussole-31';

// The seed's words (and the catalogue's where the seed gives none).
const SEED = {
  login: 'Connectez-vous à votre espace',
  create: 'Créer votre espace',
  recover: 'Récupérer votre espace',
  secureCreation: 'Sécuriser la création de votre espace',
  secureRecovery: 'Sécuriser la récupération de votre espace',
  code: 'Veuillez saisir le code reçu',
  finaliseCreation: 'Finaliser la création de votre espace',
  finaliseRecovery: 'Finaliser la récupération de votre espace',
  createAccount: 'Créer mon compte',
  created: 'Votre espace personnel a été créé et activé. Un email de confirmation vous a été envoyé',
  noMatch: 'Les informations que vous avez saisies ne correspondent pas à celles connues de l\'Ordre, veuillez les corriger ou vous rapprocher de votre conseil',
  exists: 'Un compte est déjà associé à ce numéro RPPS, en cas d\'oubli de mot de passe, demandez une récupération de mot de passe.',
  emailTaken: 'Un compte est déjà associé à cette adresse mail',
  reset: 'Réinitialiser votre mot de passe',
  linkUsed: 'Vous venez d\'utiliser votre lien de connexion unique. Il n\'est désormais plus nécessaire d\'utiliser ce lien pour vous connecter.',
  settings: 'Paramètres',
};

const DEVICES = ['desktop', 'phone'];

/**
 * One journey in a fresh browser context: `see(name)` waits for the page, saves its
 * screenshot and audits it; every main-frame navigation must have been seen (checked by
 * `done()`). `act` fills, ticks and presses either with the pointer or, keyboard-only, with
 * Tab/Space/Enter (a pointer event on any page then fails the journey).
 */
async function openJourney(browser, stack, device, name, { keyboard = false } = {}) {
  const context = await browser.newContext(VIEWPORTS[device]);
  if (keyboard) {
    // Counts pointer events in sessionStorage, which survives the page changes of the origin.
    await context.addInitScript(() => {
      sessionStorage.setItem('pointer-guard', 'on');
      for (const type of ['pointerdown', 'mousedown', 'click']) {
        window.addEventListener(type, (e) => {
          if (type === 'click' && e.detail === 0) return; // Enter/Space on a button: not a pointer
          sessionStorage.setItem('pointer-events', String(Number(sessionStorage.getItem('pointer-events') || 0) + 1));
        }, true);
      }
    });
  }
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  let navigations = 0;
  let seenNavigations = 0;
  page.on('framenavigated', (f) => { if (f === page.mainFrame()) navigations += 1; });
  let step = 0;
  const prefix = `${name}-${device}`;
  const shot = async (label) => {
    step += 1;
    await page.screenshot({ path: path.join(ARTEFACTS, `${prefix}-${String(step).padStart(2, '0')}-${label}.png`), fullPage: true });
  };
  const see = async (label, { lang = 'fr' } = {}) => {
    await page.waitForLoadState('load');
    await shot(label);
    if (lang === 'fr') {
      assert.deepEqual(await a11yProblems(page, { phone: device === 'phone' }), [], `accessibility of ${label} (${page.url()})`);
    }
    assert.deepEqual(await axeProblems(page), [], `axe-core audit of ${label} (${page.url()})`);
    seenNavigations = navigations;
  };
  const heading = async (text) => {
    await page.getByRole('heading', { level: 1, name: text, exact: true }).waitFor({ timeout: 15_000 });
  };
  const tabTo = async (selector) => {
    for (let i = 0; i < 80; i++) {
      await page.keyboard.press('Tab');
      if (await page.evaluate((s) => document.activeElement?.matches(s) ?? false, selector)) return;
    }
    throw new Error(`${selector} not reached with Tab on ${page.url()}`);
  };
  const act = keyboard ? {
    async fill(selector, text) {
      await tabTo(selector);
      await page.keyboard.press('ControlOrMeta+A');
      await page.keyboard.press('Backspace');
      await page.keyboard.type(text, { delay: 10 });
    },
    async type(selector, text) { await tabTo(selector); await page.keyboard.type(text, { delay: 40 }); },
    async erase(selector, n) { await tabTo(selector); for (let i = 0; i < n; i++) await page.keyboard.press('Backspace'); },
    async tick(selector) { await tabTo(selector); await page.keyboard.press('Space'); },
    async press(selector) { await tabTo(selector); await page.keyboard.press('Enter'); },
  } : {
    async fill(selector, text) { await page.locator(selector).fill(text); },
    async type(selector, text) { await page.locator(selector).pressSequentially(text, { delay: 40 }); },
    async erase(selector) { await page.locator(selector).fill(''); },
    async tick(selector) { await page.locator(selector).check(); },
    async press(selector) { await page.locator(selector).click(); },
  };
  const done = async () => {
    assert.equal(seenNavigations, navigations, 'every page visited was audited');
    assert.deepEqual(errors, [], 'no JavaScript error on the pages');
    if (keyboard) {
      const guard = await page.evaluate(() => sessionStorage.getItem('pointer-guard'));
      assert.equal(guard, 'on', 'the pointer guard ran in the pages');
      const n = await page.evaluate(() => Number(sessionStorage.getItem('pointer-events') || 0));
      assert.equal(n, 0, 'keyboard only: no pointer event');
    }
    // What the screens do against the seed, noted on the way so the journey goes to its end.
    assert.deepEqual(deviations, [], 'the screens as the seed describes them');
  };
  const deviations = [];
  /** A check whose failure is a known bug of the screens: noted, failed at the end. */
  const expect = (ok, what) => { if (!ok) deviations.push(what); };
  const fail = async (e) => {
    await shot('echec').catch(() => {});
    const log = path.join(ARTEFACTS, `${prefix}-caducee.log`);
    fs.writeFileSync(log, stack.logTail(400));
    console.error(`[ordre ${prefix}] failed on ${page.url()}; screenshots in ${ARTEFACTS}, server log ${log}; its end:\n${stack.logTail(15)}`);
    throw e;
  };
  return { context, page, see, heading, act, tabTo, expect, done, fail, close: () => context.close() };
}

/** The live meter of the password field `id`: "Sécurité du mot de passe : Faible", then stronger. */
async function checkMeter(j, id, password) {
  const meter = j.page.locator(`#${id}-force`);
  await j.act.type(`#${id}`, 'abc');
  await assert.doesNotReject(
    j.page.waitForFunction((sel) => /Sécurité du mot de passe\s*:\s*Faible/.test(document.querySelector(sel)?.textContent ?? ''),
      `#${id}-force`, { timeout: 10_000 }),
    `the meter says Faible while typing "abc" (${await meter.innerText().catch(() => '?')})`,
  );
  await j.see(`force-faible-${id}`);
  await j.act.erase(`#${id}`, 3);
  await j.act.type(`#${id}`, password);
  await assert.doesNotReject(
    j.page.waitForFunction((sel) => /Sécurité du mot de passe\s*:\s*(Moyen|Fort)/.test(document.querySelector(sel)?.textContent ?? ''),
      `#${id}-force`, { timeout: 10_000 }),
    `the meter says Moyen or Fort for a good password (${await meter.innerText().catch(() => '?')})`,
  );
  assert.match(await meter.innerText(), /Sécurité du mot de passe\s*:\s*(Moyen|Fort)/);
}

/** The login form: e-mail, password, "Se connecter"; then the home page of `phys`, or the refusal. */
async function logIn(j, email, password, phys) {
  await j.act.fill('#email', email);
  await j.act.fill('#mot_de_passe', password);
  await j.act.press('#se-connecter');
  if (phys) await j.heading(`Bonjour ${phys.firstName} ${phys.lastName}`);
  else await j.page.locator('#erreur').waitFor();
}

/** The identity step: birth date, RPPS, the terms, Valider. */
async function typeIdentity(j, phys, { birthDate = phys.birthDate } = {}) {
  await j.act.fill('#date_naissance', birthDate);
  await j.act.fill('#rpps', phys.rpps);
  await j.act.tick('#cgu');
  await j.act.press('#valider');
}

/** The masked coordinates offered: neither the whole number nor the whole address. */
async function checkMasked(j, phys) {
  const labels = await j.page.locator('input[name=moyen]').evaluateAll((els) => els.map((e) => `${e.value}=${e.labels[0]?.textContent.trim()}`));
  assert.equal(labels.length, 2, `two coordinates offered: ${labels}`);
  const sms = labels.find((l) => l.startsWith('sms='));
  const email = labels.find((l) => l.startsWith('email='));
  assert.ok(sms && sms.includes('***') && sms.endsWith(phys.mobile.slice(-2)) && !sms.includes(phys.mobile), `mobile masked: ${sms}`);
  const [local, domain] = phys.email.split('@');
  assert.ok(email && email.includes('***') && email.endsWith(`@${domain}`) && !email.includes(local), `e-mail masked: ${email}`);
}

describe('browser journeys of /espaces/ordre (seed ordre-medecins-mon-espace.txt)', { timeout: 900_000 }, () => {
  let stack;
  let browser;
  const people = {};

  before(async () => {
    fs.rmSync(ARTEFACTS, { recursive: true, force: true });
    fs.mkdirSync(ARTEFACTS, { recursive: true });
    stack = await startStack({ name: 'ordre' });
    const kinds = ['creationEmail', 'creationSms', 'recovery', 'reset', 'settings', 'acc01', 'none'];
    const all = await preparePhysicians(stack, kinds.length * DEVICES.length);
    for (const [i, device] of DEVICES.entries()) {
      people[device] = Object.fromEntries(kinds.map((k, n) => [k, all[i * kinds.length + n]]));
    }
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await stack?.stop();
  });

  /** Runs `body(j, page)` in a fresh journey; its end checks what `done()` checks. */
  const journey = async (device, name, opts, body) => {
    const j = await openJourney(browser, stack, device, name, opts);
    try {
      await body(j, j.page);
      await j.done();
    } catch (e) {
      await j.fail(e);
    } finally {
      await j.close();
    }
  };

  for (const device of DEVICES) {
    test(`${device}: creation by a code sent by e-mail (ACC-01, ACC-03, ACC-04)`, async () => {
      const phys = people[device].creationEmail;
      await journey(device, 'creation-email', {}, async (j, page) => {
        assert.equal((await page.goto(`${stack.base}${PORTAL}`)).status(), 200);
        await j.heading(SEED.login);
        for (const label of ['E-mail', 'Mot de passe']) await page.getByLabel(label, { exact: true }).waitFor();
        await page.getByRole('button', { name: 'Se connecter', exact: true }).waitFor();
        await page.getByRole('link', { name: 'Identifiants oubliés ?', exact: true }).waitFor();
        await j.see('connexion');
        await page.getByRole('link', { name: 'Créer votre espace', exact: true }).click();
        await j.heading(SEED.create);
        await j.see('identite');

        await typeIdentity(j, phys);
        await j.heading(SEED.secureCreation);
        await checkMasked(j, phys);
        await j.see('moyen');
        await j.act.tick('input[name=moyen][value=email]');
        await j.act.press('#recevoir-code');
        await j.heading(SEED.code);
        await page.locator('#code[inputmode=numeric][autocomplete=one-time-code]').waitFor();
        for (const id of ['#valider', '#renvoyer', '#retour']) await page.locator(id).waitFor();
        await j.see('code');

        // "Retour": back to the choice of the coordinate, then a code asked again; the journey
        // goes on with the second code (the first e-mail is set aside).
        await j.act.press('#retour');
        await j.heading(SEED.secureCreation);
        await j.see('moyen-retour');
        await j.act.tick('input[name=moyen][value=email]');
        await j.act.press('#recevoir-code');
        await j.heading(SEED.code);
        await j.see('code-encore');
        await codeByEmail(stack, phys.email); // the first code's e-mail

        if (device === 'desktop') {
          // The language switch keeps the page and the flow: English, then back.
          const before = new URL(page.url());
          await page.getByRole('link', { name: 'English', exact: true }).click();
          await page.waitForFunction(() => document.documentElement.lang === 'en');
          const after = new URL(page.url());
          assert.equal(after.pathname + after.search, before.pathname + before.search, 'the switch keeps the page (and its ?flow=)');
          await page.locator('#code').waitFor();
          assert.notEqual(await page.locator('h1').innerText(), SEED.code, 'the heading is in English');
          await j.see('code-en', { lang: 'en' });
          await page.getByRole('link', { name: 'Français', exact: true }).click();
          await page.waitForFunction(() => document.documentElement.lang === 'fr');
          await j.heading(SEED.code);
          await j.see('code-fr');
        }

        const code = await codeByEmail(stack, phys.email);
        await j.act.fill('#code', code);
        await j.act.press('#valider');
        await j.heading(SEED.createAccount);
        const body = await page.locator('main').innerText();
        j.expect(body.includes(phys.email),
          `"Créer mon compte" shows the login in full, the registry e-mail ${phys.email} (seed: "l'identifiant est déjà renseigné et correspond à l'adresse mail"), not masked: ${body.match(/Identifiant\s*\n?\s*(\S+)/)?.[1]}`);
        await j.see('creer-mon-compte');
        await checkMeter(j, 'mot_de_passe', GOOD_PASSWORD);
        await j.act.fill('#mot_de_passe_confirmation', GOOD_PASSWORD);
        await page.getByRole('button', { name: 'Créer', exact: true }).waitFor();
        await j.act.press('#activer');
        await page.waitForURL((u) => u.pathname === `${PORTAL}/creer/termine`);
        assert.ok((await page.locator('main').innerText()).includes(SEED.created), 'the seed\'s confirmation');
        await j.see('termine');

        const mail = await takeMail(stack, phys.email, 'the confirmation e-mail');
        assert.ok(mail.text.includes(phys.email), 'the confirmation e-mail gives the login');

        await page.getByRole('link', { name: 'Retour à la connexion' }).click();
        await j.heading(SEED.login);
        await j.see('retour-connexion');
        await logIn(j, phys.email, GOOD_PASSWORD, phys);
        await page.locator('#service-parametres').waitFor();
        await j.see('mon-espace');
      });
    });

    const keyboard = device === 'desktop';
    test(`${device}: creation by a code sent by SMS${keyboard ? ', keyboard only' : ''} (ACC-03, ACC-04)`, async () => {
      const phys = people[device].creationSms;
      const login = `connexion.${phys.rpps}@example.test`;
      await journey(device, 'creation-sms', { keyboard }, async (j, page) => {
        await page.goto(`${stack.base}${PORTAL}/creer`);
        await j.heading(SEED.create);
        await j.see('identite');
        await typeIdentity(j, phys);
        await j.heading(SEED.secureCreation);
        await j.see('moyen');
        await j.act.tick('input[name=moyen][value=sms]');
        await j.act.press('#recevoir-code');
        await j.heading(SEED.code);
        await j.see('code');
        const first = await codeBySms(stack, phys.mobile);

        // "Renvoyer le code": a new code; the first no longer works.
        await j.act.press('#renvoyer');
        await page.locator('#code-renvoye').waitFor();
        await j.see('code-renvoye');
        const second = await codeBySms(stack, phys.mobile);
        assert.notEqual(second, first, 'a new code');
        await j.act.fill('#code', first);
        await j.act.press('#valider');
        await page.locator('#code-erreur, .message-erreur').first().waitFor();
        assert.match(await page.locator('main').innerText(), /Ce code est incorrect/);
        await j.see('ancien-code-refuse');
        await j.act.fill('#code', second);
        await j.act.press('#valider');

        await j.heading(SEED.finaliseCreation);
        await j.see('finaliser');
        await j.act.fill('#email', login);
        await checkMeter(j, 'mot_de_passe', GOOD_PASSWORD);
        await j.act.fill('#mot_de_passe_confirmation', GOOD_PASSWORD);
        await page.getByRole('button', { name: 'Activer', exact: true }).waitFor();
        await j.act.press('#activer');
        await page.waitForURL((u) => u.pathname === `${PORTAL}/creer/termine`);
        assert.ok((await page.locator('main').innerText()).includes(SEED.created));
        await j.see('termine');
        const mail = await takeMail(stack, login, 'the confirmation e-mail');
        assert.ok(mail.text.includes(login), 'the confirmation goes to the login chosen and gives it');

        await j.act.press('#retour-connexion');
        await j.heading(SEED.login);
        await j.see('connexion');
        await logIn(j, login, GOOD_PASSWORD, phys);
        await j.see('mon-espace');
      });
    });

    test(`${device}: forgotten login e-mail, recovered by a code (ACC-05)`, async () => {
      const phys = people[device].recovery;
      const old = await createAccount(stack, phys, { channel: 'email' });
      const fresh = `nouvelle.${phys.rpps}@example.test`;
      await journey(device, 'recuperation', {}, async (j, page) => {
        await page.goto(`${stack.base}${PORTAL}`);
        await j.heading(SEED.login);
        await j.see('connexion');
        await page.getByRole('link', { name: 'Identifiants oubliés ?', exact: true }).click();
        await page.waitForURL((u) => u.pathname === `${PORTAL}/identifiants-oublies`);
        await j.see('identifiants-oublies');
        await page.getByRole('link', { name: 'Adresse mail de compte oubliée' }).click();
        await j.heading(SEED.recover);
        await j.see('identite');
        await typeIdentity(j, phys);
        await j.heading(SEED.secureRecovery);
        await j.see('moyen');
        await j.act.tick('input[name=moyen][value=sms]');
        await j.act.press('#recevoir-code');
        await j.heading(SEED.code);
        await j.see('code');
        await j.act.fill('#code', await codeBySms(stack, phys.mobile));
        await j.act.press('#valider');
        await j.heading(SEED.finaliseRecovery);
        for (const label of ['Confirmation Email', 'Confirmation du mot de passe']) await page.getByLabel(label, { exact: true }).waitFor();
        await j.see('finaliser');

        // The forgotten address again: refused (ACC-05).
        await j.act.fill('#email', old.email);
        await j.act.fill('#email_confirmation', old.email);
        await j.act.fill('#mot_de_passe', NEW_PASSWORD);
        await j.act.fill('#mot_de_passe_confirmation', NEW_PASSWORD);
        await j.act.press('#activer');
        await page.getByText(SEED.emailTaken).first().waitFor();
        await j.see('adresse-deja-utilisee');

        await j.act.fill('#email', fresh);
        await j.act.fill('#email_confirmation', fresh);
        await checkMeter(j, 'mot_de_passe', NEW_PASSWORD);
        await j.act.fill('#mot_de_passe_confirmation', NEW_PASSWORD);
        await j.act.press('#activer');
        await page.locator('#retour-connexion').waitFor();
        assert.match(await page.locator('main').innerText(), /récupéré/);
        await j.see('recupere');
        const notice = await takeMail(stack, old.email, 'the notice to the old address');
        assert.ok(!notice.text.includes(fresh), 'the notice masks the new address');

        await page.locator('#retour-connexion').click();
        await j.heading(SEED.login);
        await logIn(j, old.email, old.password);
        await j.see('ancien-identifiant-refuse');
        await logIn(j, fresh, NEW_PASSWORD, phys);
        await j.see('mon-espace');
      });
    });

    test(`${device}: password reset by the single-use link (ACC-06)`, async () => {
      const phys = people[device].reset;
      const account = await createAccount(stack, phys, { channel: 'email' });
      await journey(device, 'reinitialisation', {}, async (j, page) => {
        await page.goto(`${stack.base}${PORTAL}/identifiants-oublies`);
        await j.see('identifiants-oublies');
        await page.getByRole('link', { name: 'Mot de passe oublié', exact: true }).click();
        await j.heading(SEED.reset);
        await page.getByRole('link', { name: 'Je ne connais plus mon adresse email' }).waitFor();
        await j.see('demande');
        await j.act.fill('#email', account.email);
        await j.act.press('#valider');
        await page.locator('#lien-envoye').waitFor();
        await j.see('lien-envoye');

        const link = await resetLink(stack, account.email);
        // Opening the link (as a mail scanner would) does not use it.
        await page.goto(link);
        await page.locator('#utiliser-lien').waitFor();
        await j.see('lien');
        await page.goto(link);
        await page.locator('#utiliser-lien').waitFor();
        await j.see('lien-encore');
        await j.act.press('#utiliser-lien');
        await page.waitForURL((u) => u.pathname === `${PORTAL}/parametres`);
        assert.equal(new URL(page.url()).searchParams.get('lien'), '1');
        await j.heading(SEED.settings);
        assert.equal((await page.locator('#lien-utilise').innerText()).trim(), SEED.linkUsed);
        assert.equal(await page.locator('#mot_de_passe_actuel').count(), 0, 'no current password asked after the link');
        await j.see('parametres-apres-lien');
        await checkMeter(j, 'nouveau_mot_de_passe', NEW_PASSWORD);
        await j.act.fill('#confirmation', NEW_PASSWORD);
        await j.act.press('#enregistrer');
        await page.locator('#enregistre').waitFor();
        await j.see('mot-de-passe-change');
        // "le médecin est déjà connecté à MonEspace. Il lui suffit de cliquer sur MonEspace".
        await j.act.press('#mon-espace');
        await j.heading(`Bonjour ${phys.firstName} ${phys.lastName}`);
        await j.see('mon-espace');

        // The link is dead now.
        const again = await page.goto(link);
        assert.equal(again.status(), 410);
        await page.locator('#lien-mort').waitFor();
        await j.see('lien-mort');

        // Out, then in with the new password; the old one is refused.
        await page.goto(`${stack.base}${PORTAL}`);
        await page.locator('#se-deconnecter').waitFor();
        await j.see('mon-espace-encore');
        await page.locator('#se-deconnecter').click();
        await j.heading(SEED.login);
        await j.see('deconnecte');
        await logIn(j, account.email, GOOD_PASSWORD);
        await j.see('ancien-mot-de-passe-refuse');
        await logIn(j, account.email, NEW_PASSWORD, phys);
        await j.see('reconnecte');
      });
    });

    test(`${device}: settings — the password, then the e-mail confirmed by a code to the new address (ACC-07)`, async () => {
      const phys = people[device].settings;
      const account = await createAccount(stack, phys, { channel: 'email' });
      const fresh = `parametres.${phys.rpps}@example.test`;
      await journey(device, 'parametres', {}, async (j, page) => {
        await page.goto(`${stack.base}${PORTAL}`);
        await j.see('connexion');
        await logIn(j, account.email, account.password, phys);
        for (const s of ['Abonnements', 'Cotisations', 'Mes Gardes', 'Paramètres']) {
          await page.getByRole('link', { name: s, exact: true }).waitFor();
        }
        await j.see('mon-espace');
        await j.act.press('#service-parametres');
        await j.heading(SEED.settings);
        assert.match(await page.locator('main').innerText(), /INFORMATIONS CONNEXION/);
        assert.equal(await page.locator('#email').inputValue(), account.email);
        await j.see('parametres');

        // A new password with a wrong current one: refused, nothing changed.
        await j.act.fill('#mot_de_passe_actuel', 'pas-le-bon-mot-de-passe-1');
        await checkMeter(j, 'nouveau_mot_de_passe', NEW_PASSWORD);
        await j.act.fill('#confirmation', NEW_PASSWORD);
        await j.act.press('#enregistrer');
        await page.getByText('Le mot de passe actuel est incorrect.').first().waitFor();
        await j.see('mot-de-passe-actuel-faux');

        await j.act.fill('#mot_de_passe_actuel', account.password);
        await j.act.fill('#nouveau_mot_de_passe', NEW_PASSWORD);
        await j.act.fill('#confirmation', NEW_PASSWORD);
        await j.act.press('#enregistrer');
        await page.locator('#enregistre').waitFor();
        assert.match(await page.locator('#enregistre').innerText(), /mot de passe a été modifié/);
        await j.see('mot-de-passe-change');

        // The e-mail: the current password, the new address, then the code sent there.
        await j.act.fill('#mot_de_passe_actuel', NEW_PASSWORD);
        await j.act.fill('#email', fresh);
        await j.act.press('#enregistrer');
        await page.waitForURL((u) => u.pathname === `${PORTAL}/parametres/code`);
        await j.heading(SEED.code);
        await j.see('code-nouvelle-adresse');
        await j.act.fill('#code', await codeByEmail(stack, fresh));
        await j.act.press('#valider');
        await page.locator('#enregistre').waitFor();
        assert.match(await page.locator('#enregistre').innerText(), /adresse de courriel a été modifiée/);
        assert.equal(await page.locator('#email').inputValue(), fresh);
        await j.see('adresse-changee');
        const notice = await takeMail(stack, account.email, 'the notice to the old address');
        assert.ok(!notice.text.includes(fresh), 'the notice masks the new address');

        await page.locator('#mon-espace').click();
        await page.locator('#se-deconnecter').waitFor();
        await j.see('mon-espace-apres');
        await page.locator('#se-deconnecter').click();
        await j.heading(SEED.login);
        await j.see('deconnecte');
        await logIn(j, fresh, NEW_PASSWORD, phys);
        await j.see('reconnecte');
      });
    });

    test(`${device}: ACC-01's blocking messages (and recovery without a space), and the error summary of an empty form`, async () => {
      const phys = people[device].acc01;
      await createAccount(stack, phys, { channel: 'email' });
      const other = people[device].creationEmail; // a physician, another birth date
      await journey(device, 'acc01', {}, async (j, page) => {
        await page.goto(`${stack.base}${PORTAL}/creer`);
        await j.heading(SEED.create);
        await j.see('identite');
        const where = await page.locator('#ou-trouver-rpps').getAttribute('href');
        const whereStatus = (await page.request.get(new URL(where, page.url()).toString())).status();
        j.expect(whereStatus < 400, `"Où trouver mon RPPS ?" leads to a page (${where}: HTTP ${whereStatus})`);

        // Nothing typed: the summary at the top links to each field in error.
        await j.act.press('#valider');
        const summary = page.locator('.resume-erreurs, [role=alert]').filter({ hasText: 'Le formulaire contient des erreurs' }).first();
        await summary.waitFor();
        for (const id of ['date_naissance', 'rpps', 'cgu']) {
          assert.equal(await summary.locator(`a[href="#${id}"]`).count(), 1, `the summary links to #${id}`);
        }
        await j.see('formulaire-vide');

        // A pair that matches nobody.
        await typeIdentity(j, { ...phys, birthDate: other.birthDate });
        await page.locator('#blocage').waitFor();
        assert.equal((await page.locator('#blocage').innerText()).trim(), SEED.noMatch);
        await j.see('aucune-correspondance');

        // A physician who has a space already: the message links to the password recovery.
        await typeIdentity(j, phys);
        await page.locator('#blocage').waitFor();
        assert.equal((await page.locator('#blocage').innerText()).replace(/\s+/g, ' ').trim(), SEED.exists);
        await j.see('compte-existant');
        await page.locator('#blocage').getByRole('link', { name: 'récupération de mot de passe' }).click();
        await j.heading(SEED.reset);
        await j.see('recuperation-mot-de-passe');

        // The recovery of a space that does not exist: the message links to its creation.
        await page.goto(`${stack.base}${PORTAL}/recuperer`);
        await j.heading(SEED.recover);
        await j.see('recuperer');
        await typeIdentity(j, people[device].none);
        await page.locator('#blocage').waitFor();
        assert.match((await page.locator('#blocage').innerText()).replace(/\s+/g, ' '), /Aucun espace n'est encore associé à ce numéro RPPS/);
        await j.see('aucun-espace');
        await page.locator('#blocage').getByRole('link').click();
        await j.heading(SEED.create);
        await j.see('creer-depuis-recuperation');
      });
    });
  }
});

// The text parts of the e-mails are what the tests read; keep the decoder honest.
test('mailText decodes quoted-printable text parts', () => {
  const raw = 'To: a@example.test\r\nContent-Type: multipart/alternative; boundary="b"\r\n\r\n--b\r\n'
    + 'Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n'
    + 'Cr=C3=A9ez =\r\nvotre lien=3A https://x/espaces/ordre/lien/abc\r\n--b\r\nContent-Type: text/html\r\n\r\n<p>x</p>\r\n--b--\r\n';
  assert.equal(mailText(raw).trim(), 'Créez votre lien: https://x/espaces/ordre/lien/abc');
});
