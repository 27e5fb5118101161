// What the browser journeys share: Debian's Chromium launched by playwright-core, the two
// viewports (a desktop window and a 390×844 phone), the accessibility basics of a page and
// the axe-core audit (WCAG 2.1 A/AA), evaluated through the DevTools protocol so that the
// pages' content security policy stays as served.

import fs from 'node:fs';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

// axe-core's browser bundle, evaluated in the page through the DevTools protocol: the pages'
// content security policy forbids inline scripts, and must not be bypassed to audit them.
const AXE_SOURCE = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** axe-core's violations of impact serious or critical on the current page (empty: fine). */
export async function axeProblems(page) {
  if (!(await page.evaluate(() => typeof window.axe !== 'undefined'))) await page.evaluate(AXE_SOURCE);
  const result = await page.evaluate(() => window.axe.run(document, {
    runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
    resultTypes: ['violations'],
  }));
  return result.violations
    .filter((v) => ['serious', 'critical'].includes(v.impact))
    .map((v) => `${v.impact} ${v.id}: ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`);
}

export const CHROMIUM = process.env.CADUCEE_TEST_CHROMIUM || '/usr/bin/chromium';

/** Context options of the two devices: a French professional's browser (French first, Paris time). */
const FRENCH = { locale: 'fr-FR', timezoneId: 'Europe/Paris' };
export const VIEWPORTS = {
  desktop: { ...FRENCH, viewport: { width: 1280, height: 800 } },
  phone: {
    ...FRENCH,
    viewport: { width: 390, height: 844 }, deviceScaleFactor: 3, isMobile: true, hasTouch: true,
    userAgent: 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Mobile Safari/537.36',
  },
};

/** The accessibility basics of the current page; returns a list of problems (empty: fine). */
export async function a11yProblems(page, { phone = false } = {}) {
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

/** Debian's Chromium, headless (never a browser downloaded by Playwright). */
export function launchChromium() {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`Chromium not found at ${CHROMIUM} (apt-get install chromium, or set CADUCEE_TEST_CHROMIUM)`);
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
}
