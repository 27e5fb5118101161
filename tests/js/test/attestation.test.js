// Attestations of RPPS registration (REG-08) against a real `caducee serve --demo`:
//
//   - an attestation issued by the real CLI (`caducee attestation issue`, the server's
//     database and instance secret), its embedded JWS checked by an independent JOSE library
//     (jose's compactVerify, EdDSA) against the keys the server publishes at /verifier/cles;
//   - the /verifier pages in Debian's Chromium, on a desktop window and a 390×844 phone:
//     the QR code's target says genuine and current, the code typed from paper (lower case,
//     dashes) through the form, an unknown code; the accessibility basics and axe-core (no
//     violation of impact serious or critical); screenshots under test-artefacts/attestation/;
//   - the eRPPS journey: Julie Martin logs in to /erpps by Pro Santé Connect (her e-CPS
//     approved by the authenticator CLI), "Télécharger mes attestations" downloads
//     attestation-rpps-<RPPS>.pdf, which `caducee attestation verify` finds genuine.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { compactVerify, createLocalJWKSet } from 'jose';

import { a11yProblems, axeProblems, launchChromium, VIEWPORTS } from '../lib/browser.js';
import { pscLogin, runJourney } from '../lib/journeys.js';
import { PERSONAS, ROOT, startStack } from '../lib/stack.js';

const ARTEFACTS = path.join(ROOT, 'test-artefacts', 'attestation');
const JULIE = PERSONAS.julie;

describe('attestations (REG-08)', () => {
  let stack;
  let issued;
  let pdfFile;

  before(async () => {
    fs.mkdirSync(ARTEFACTS, { recursive: true });
    stack = await startStack({ name: 'attestation', notifications: false });
    pdfFile = path.join(stack.dir, 'attestation.pdf');
    issued = JSON.parse(await stack.cliOk(['attestation', 'issue', JULIE.rpps, '--out', pdfFile]));
  });

  after(async () => {
    await stack?.stop();
  });

  test('REG-08 the PDF carries a JWS that jose verifies with the published keys', async () => {
    const res = await fetch(`${stack.base}/verifier/cles`);
    assert.equal(res.status, 200);
    const jwks = await res.json();
    assert.equal(jwks.keys[0].crv, 'Ed25519');
    const bytes = fs.readFileSync(pdfFile);
    assert.equal(bytes.subarray(0, 5).toString('latin1'), '%PDF-');
    const jws = bytes.toString('latin1').match(/eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+/)?.[0];
    assert.ok(jws, 'the signed content is embedded in the PDF');
    const { payload, protectedHeader } = await compactVerify(jws, createLocalJWKSet(jwks));
    assert.equal(protectedHeader.alg, 'EdDSA');
    const attested = JSON.parse(new TextDecoder().decode(payload));
    assert.equal(attested.identifier, JULIE.rpps);
    assert.equal(attested.lastName, JULIE.lastName);
    assert.equal(attested.code, issued.code);
    assert.deepEqual(attested.professions, ['Médecin']);
    // One character of the payload changed: jose refuses it.
    const [h, p, s] = jws.split('.');
    const flipped = p.slice(0, 10) + (p[10] === 'A' ? 'B' : 'A') + p.slice(11);
    await assert.rejects(compactVerify(`${h}.${flipped}.${s}`, createLocalJWKSet(jwks)));
    // The CLI says the same, with the server's database.
    const out = await stack.cliOk(['attestation', 'verify', pdfFile]);
    assert.match(out, /AUTHENTIQUE/);
    assert.match(out, /toujours en cours/);
  });

  test('REG-08 /verifier on a desktop and a phone: genuine, typed code, unknown code', async () => {
    const browser = await launchChromium();
    try {
      for (const [name, options] of Object.entries(VIEWPORTS)) {
        const context = await browser.newContext(options);
        const page = await context.newPage();
        const phone = name === 'phone';
        // The QR code's target.
        assert.ok(issued.verifyUrl.endsWith(`/verifier/${issued.code}`));
        let res = await page.goto(`${stack.base}/verifier/${issued.code}`);
        assert.equal(res.status(), 200);
        assert.equal(await page.locator('#authenticite h2').textContent(), 'Attestation authentique');
        assert.match(await page.locator('#actualite').textContent(), /toujours en cours/);
        assert.match(await page.locator('#atteste-nom').textContent(), /Julie Martin/);
        assert.equal(await page.locator('#atteste-numero').textContent(), JULIE.rpps);
        assert.equal(await page.locator('#atteste-professions').textContent(), 'Médecin');
        await page.screenshot({ path: path.join(ARTEFACTS, `${name}-genuine.png`), fullPage: true });
        assert.deepEqual(await a11yProblems(page, { phone }), []);
        assert.deepEqual(await axeProblems(page), []);
        // The code typed from paper through the form.
        const typed = `${issued.code.slice(0, 4)}-${issued.code.slice(4, 8)}-${issued.code.slice(8)}`.toLowerCase();
        await page.getByLabel('Code de vérification').fill(typed);
        await Promise.all([
          page.waitForURL(new RegExp(`/verifier/${issued.code}$`)),
          page.getByRole('button', { name: 'Vérifier' }).click(),
        ]);
        assert.equal(await page.locator('#authenticite h2').textContent(), 'Attestation authentique');
        // An unknown code.
        res = await page.goto(`${stack.base}/verifier/7K2MQX4R9TDA`);
        assert.equal(res.status(), 404);
        assert.match(await page.locator('main').textContent(), /Aucune attestation ne porte ce code/);
        await page.screenshot({ path: path.join(ARTEFACTS, `${name}-unknown.png`), fullPage: true });
        assert.deepEqual(await a11yProblems(page, { phone }), []);
        assert.deepEqual(await axeProblems(page), []);
        // A malformed one typed in the form: said on its field.
        await page.getByLabel('Code de vérification').fill('abc');
        await page.getByRole('button', { name: 'Vérifier' }).click();
        await page.waitForURL(/\/verifier\?code=abc/);
        assert.match(await page.locator('.message-erreur').textContent(), /n'a pas le bon format/);
        assert.deepEqual(await axeProblems(page), []);
        await context.close();
      }
    } finally {
      await browser.close();
    }
  });

  test('REG-08 eRPPS: "Télécharger mes attestations" after a Pro Santé Connect login', async () => {
    const phone = await stack.activate(JULIE);
    const browser = await launchChromium();
    try {
      await runJourney(browser, stack, 'desktop', 'erpps', { artefacts: ARTEFACTS, tag: 'attestation' }, async (j, page) => {
        await page.goto(`${stack.base}/erpps`);
        await pscLogin(j, JULIE, phone, '/erpps');
        // The first login asks to check the contact coordinates first.
        if (new URL(page.url()).pathname === '/erpps/coordonnees-a-verifier') {
          await Promise.all([page.waitForURL(/\/erpps$/), page.locator('#confirmer').click()]);
        }
        await j.heading('Que souhaitez-vous faire ?');
        await j.see('accueil');
        const [download] = await Promise.all([
          page.waitForEvent('download'),
          page.locator('#attestations').click(),
        ]);
        assert.equal(download.suggestedFilename(), `attestation-rpps-${JULIE.rpps}.pdf`);
        const file = path.join(stack.dir, download.suggestedFilename());
        await download.saveAs(file);
        const out = await stack.cliOk(['attestation', 'verify', file]);
        assert.match(out, /AUTHENTIQUE/);
        assert.match(out, new RegExp(JULIE.rpps));
        fs.copyFileSync(file, path.join(ARTEFACTS, download.suggestedFilename()));
      });
    } finally {
      await browser.close();
    }
  });
});
