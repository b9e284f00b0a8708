// pages.mjs - first views of the web console in Debian's chromium driven by
// playwright-core (tests/e2e's node_modules), for bench/console/run.sh.
// For each load: a new browser context (cold cache) with the session cookie
// of a logged-in admin, navigation to the page, and the time from the
// navigation's start (performance.timeOrigin) until the page's data is in
// the DOM, recorded by a MutationObserver the page gets before its scripts
// run. Loads alternate between the stores (full, then small, page by page),
// so both see the same moments of a shared machine.
// Environment: TARGETS (JSON list of {name, url, cookie, password, site,
// host, alert, incident}),
// LOADS (10), OUT (JSON results), ROOT (the repository), CHROMIUM.
// Leaves: OUT = {"pages": {PAGE: {TARGET: [ms, ...]}}, "requests": {PAGE:
// {TARGET: [{path, start, ms}]}}} (the requests are the last load's API
// calls with their Resource Timing), and progress lines on stdout.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const E = process.env;
const { chromium } = await import(join(E.ROOT, 'tests/e2e/node_modules/playwright-core/index.mjs'));
const targets = JSON.parse(E.TARGETS);
const LOADS = Number(E.LOADS || 10);
const TIMEOUT = 60000;

// Runs in the page before its own scripts: notes when each condition first holds.
function observe(conds) {
  const ready = {};
  window.__ready = ready;
  const check = () => {
    for (const [name, sels] of Object.entries(conds)) {
      if (ready[name] === undefined && sels.every((s) => document.querySelector(s))) ready[name] = performance.now();
    }
  };
  new MutationObserver(check).observe(document, { subtree: true, childList: true, characterData: true });
  document.addEventListener('submit', () => { ready.submit = performance.now(); }, true);
}

// What "its data is visible" means per page (every selector present).
const READY = {
  overview: ['#sites', 'svg.chart', '#alerts-body tr'],
  site: ['#hosts-body tr', '#alerts-body tr'],
  host: ['#host-actions', '#alerts-body tr', '#commands-body tr'],
  alert: ['#alert-summary', '#alert-body'],
  incidents: ['#incidents-body tr'],
  incident: ['#incident-title', '#timeline'],
};

const PAGES = [
  { name: 'overview', hash: () => '#/', ready: 'overview' },
  { name: 'site', hash: (t) => `#/site/${encodeURIComponent(t.site)}`, ready: 'site' },
  { name: 'host', hash: (t) => `#/host/${encodeURIComponent(t.host)}`, ready: 'host' },
  { name: 'alert', hash: (t) => `#/alert/${t.alert}`, ready: 'alert' },
  { name: 'incidents', hash: () => '#/incidents', ready: 'incidents' },
  { name: 'incident', hash: (t) => `#/incident/${t.incident}`, ready: 'incident' },
  { name: 'alerts-more', hash: () => '#/', ready: 'overview', more: true },
  { name: 'login-overview', hash: () => '#/', ready: 'overview', login: true },
  { name: 'phone-overview', hash: () => '#/', ready: 'overview', phone: true },
];

const browser = await chromium.launch({ executablePath: E.CHROMIUM || '/usr/bin/chromium', args: ['--no-sandbox'] });
const out = { pages: {}, requests: {} };

async function poll(page, fn, arg) {
  const end = Date.now() + TIMEOUT;
  for (;;) {
    const v = await page.evaluate(fn, arg);
    if (v !== undefined && v !== null && v !== false) return v;
    if (Date.now() > end) {
      const shown = await page.evaluate(() => document.querySelector('main')?.textContent.slice(0, 200));
      const waiting = [...page.open].map((r) => r.url().replace(/^https:\/\/[^/]+/, '')).join(' ');
      throw new Error(`timed out after ${TIMEOUT} ms; page '${shown}'; unanswered: ${waiting}; ${page.notes.slice(-5).join('; ')}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function load(p, t) {
  const opts = p.phone
    ? { viewport: { width: 390, height: 844 }, deviceScaleFactor: 3, isMobile: true, hasTouch: true }
    : { viewport: { width: 1280, height: 800 } };
  const ctx = await browser.newContext({ ignoreHTTPSErrors: true, locale: 'en-US', ...opts });
  try {
    if (!p.login) {
      await ctx.addCookies([{ name: 'mamori_session', value: t.cookie, url: t.url, secure: true, httpOnly: true, sameSite: 'Strict' }]);
    }
    const page = await ctx.newPage();
    const notes = []; // for a timeout's message: errors and refused API calls
    page.on('pageerror', (e) => notes.push(String(e)));
    page.on('response', (r) => { if (r.status() >= 400) notes.push(`${r.status()} ${r.url()}`); });
    page.on('requestfailed', (r) => notes.push(`failed ${r.url()}: ${r.failure()?.errorText}`));
    const open = new Set(); // requests without an answer yet
    page.on('request', (r) => open.add(r));
    page.on('requestfinished', (r) => open.delete(r));
    page.on('requestfailed', (r) => open.delete(r));
    page.notes = notes;
    page.open = open;
    if (p.phone) { // a mid-range phone: a quarter of this machine's CPU
      const cdp = await ctx.newCDPSession(page);
      await cdp.send('Emulation.setCPUThrottlingRate', { rate: 4 });
    }
    await page.addInitScript(observe, { [p.ready]: READY[p.ready] });
    await page.goto(t.url + '/' + p.hash(t));
    let ms;
    if (p.login) {
      await page.waitForSelector('#login', { timeout: TIMEOUT });
      await page.fill('#login-name', 'login'); // its own sessions: bench's stay (16 a user)
      await page.fill('#login-password', t.password);
      await page.click('#login button[type=submit]');
      const r = await poll(page, (k) => window.__ready[k] !== undefined && window.__ready, p.ready);
      ms = r[p.ready] - r.submit;
    } else if (p.more) {
      await poll(page, (k) => window.__ready[k], p.ready);
      await page.waitForSelector('main > button.more:not([hidden])', { timeout: TIMEOUT });
      const before = await page.$$eval('#alerts-body tr', (l) => l.length);
      const t0 = await page.evaluate(() => performance.now());
      await page.click('main > button.more');
      ms = (await poll(page, (n) => document.querySelectorAll('#alerts-body tr').length > n && performance.now(), before)) - t0;
    } else {
      ms = await poll(page, (k) => window.__ready[k], p.ready);
    }
    const reqs = await page.evaluate(() => performance.getEntriesByType('resource')
      .filter((e) => e.name.includes('/api/v1/') && !e.name.includes('/events/stream'))
      .map((e) => ({ path: new URL(e.name).pathname + new URL(e.name).search, start: Math.round(e.startTime), ms: Math.round(e.duration) })));
    return { ms, reqs };
  } finally {
    await ctx.close();
  }
}

try {
  for (let i = 0; i < LOADS; i++) {
    for (const p of PAGES) {
      for (const t of targets) {
        const r = await load(p, t).catch((e) => { throw new Error(`${p.name} on ${t.name}: ${e.message}`); });
        ((out.pages[p.name] ||= {})[t.name] ||= []).push(Math.round(r.ms * 10) / 10);
        (out.requests[p.name] ||= {})[t.name] = r.reqs;
      }
      console.log(`load ${i + 1}/${LOADS} ${p.name}: ${targets.map((t) => `${t.name} ${out.pages[p.name][t.name][i].toFixed(0)} ms`).join(', ')}`);
    }
  }
} finally {
  await browser.close();
}
writeFileSync(E.OUT, JSON.stringify(out, null, 1));
