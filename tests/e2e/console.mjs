// console.mjs - the web console in a real browser (Debian's chromium driven
// by playwright-core), against the server tests/integration/test_console.sh
// started. Every check prints "PASS name" or "FAIL name: why".
// Environment: URL, ART (screenshot directory), MAMORI, AGENT1 (an agent
// directory of site osaka), HOST1 (its host id), HOST2 (a kyoto host id),
// PW_ADMIN, PW_OSAKA, CHROMIUM.
import { chromium } from 'playwright-core';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const E = process.env;
const URL0 = E.URL;
const here = dirname(fileURLToPath(import.meta.url));
const cat = (l) => JSON.parse(readFileSync(join(here, '../../web/i18n', `${l}.json`), 'utf8'));
const en = cat('en'), ja = cat('ja');
let failed = 0;
const pass = (n) => console.log(`PASS ${n}`);
const fail = (n, why) => { failed++; console.log(`FAIL ${n}: ${why}`); };
async function check(name, fn) {
  try { const why = await fn(); why ? fail(name, why) : pass(name); } catch (e) { fail(name, String(e && e.message || e).split('\n')[0]); }
}
const shots = [];
async function shot(page, name) {
  const p = join(E.ART, `${name}.png`);
  await page.screenshot({ path: p, fullPage: true });
  shots.push(p);
}
function agentAlert(summary, severity = 'high') {
  execFileSync(E.MAMORI, ['agent', 'alert', '--dir', E.AGENT1, '--kind', 'drill', '--severity', severity, '--summary', summary]);
}

const browser = await chromium.launch({ executablePath: E.CHROMIUM || '/usr/bin/chromium', args: ['--no-sandbox'] });
const newPage = async (locale) => {
  const ctx = await browser.newContext({ ignoreHTTPSErrors: true, locale, viewport: { width: 1280, height: 900 } });
  const page = await ctx.newPage();
  page.dialogs = [];
  page.on('dialog', (d) => { page.dialogs.push(d.message()); d.dismiss().catch(() => {}); });
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) page.errors.push(m.text()); });
  return { ctx, page };
};
// Poll a predicate in the page. (page.waitForFunction evaluates strings,
// which the console's Content-Security-Policy rightly forbids.)
async function waitFor(page, fn, arg, timeout = 10000) {
  const end = Date.now() + timeout;
  for (;;) {
    if (await page.evaluate(fn, arg)) return;
    if (Date.now() > end) throw new Error(`timed out after ${timeout} ms waiting for ${fn}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
async function login(page, name, pw) {
  await page.fill('#login-name', name);
  await page.fill('#login-password', pw);
  await page.click('#login button[type=submit]');
}

try {
  const { ctx, page } = await newPage('en-US');
  await page.goto(URL0 + '/');
  await check('console-login-page', async () => {
    await page.waitForSelector('#login', { timeout: 10000 });
    const h = await page.textContent('#login h1');
    return h === en['login.title'] ? '' : `heading '${h}'`;
  });
  await shot(page, 'login-en');

  await check('console-login-wrong-password-refused', async () => {
    await login(page, 'alice', 'not-the-password');
    await waitFor(page, () => document.querySelector('#login-error')?.textContent, null, 10000);
    const t = await page.textContent('#login-error');
    return t === en['login.wrong'] ? '' : `error text '${t}'`;
  });

  const before = (await ctx.cookies()).find((c) => c.name === 'mamori_session');
  await check('console-login-and-overview', async () => {
    await login(page, 'alice', E.PW_ADMIN);
    await page.waitForSelector('#sites .card', { timeout: 10000 });
    const sites = await page.$$eval('#sites .card', (n) => n.map((x) => x.dataset.site));
    const c = (await ctx.cookies()).find((x) => x.name === 'mamori_session');
    if (!c || !c.httpOnly || !c.secure || c.sameSite !== 'Strict') return `cookie ${JSON.stringify(c)}`;
    if (before && before.value === c.value) return 'the cookie did not change at login';
    return sites.includes('osaka') && sites.includes('kyoto') ? '' : `sites ${sites}`;
  });
  await check('console-cookie-not-readable-by-script', async () => {
    const c = await page.evaluate(() => document.cookie);
    return c.includes('mamori_session') ? `document.cookie '${c}'` : '';
  });
  await page.waitForSelector('svg.chart', { timeout: 10000 });
  await shot(page, 'overview-en');

  const live = `live drill ${Date.now()}`;
  await check('console-live-alert-without-reload', async () => {
    await page.evaluate(() => { window.__noReload = true; });
    await new Promise((r) => setTimeout(r, 500)); // the event stream is open
    agentAlert(live, 'critical');
    await waitFor(page, (s) => [...document.querySelectorAll('#alerts-body a')].some((a) => a.textContent === s), live, 15000);
    return (await page.evaluate(() => window.__noReload)) ? '' : 'the page reloaded';
  });

  await check('console-open-alert', async () => {
    await page.click(`#alerts-body a:text-is("${live}")`);
    await page.waitForSelector('#alert-summary', { timeout: 10000 });
    const s = await page.textContent('#alert-summary');
    return s === live ? '' : `summary '${s}'`;
  });
  await shot(page, 'alert-en');

  await check('console-switch-language-ja-and-back', async () => {
    await page.selectOption('#lang', 'ja');
    await waitFor(page, (t) => document.querySelector('#nav a')?.textContent === t, ja['nav.overview'], 5000);
    const dt = await page.textContent('dl.kv dt');
    if (dt !== ja['col.time']) return `alert page label '${dt}'`;
    await shot(page, 'alert-ja');
    await page.goto(URL0 + '/#/');
    await page.waitForSelector('#sites .card', { timeout: 10000 });
    const h1 = await page.textContent('main h1');
    if (h1 !== ja['overview.title']) return `ja overview heading '${h1}' (remembered?)`;
    await page.waitForSelector('svg.chart');
    await shot(page, 'overview-ja');
    await page.goto(URL0 + `/#/host/${E.HOST1}`);
    await page.waitForSelector('#host-actions', { timeout: 10000 });
    await shot(page, 'host-ja');
    await page.selectOption('#lang', 'en');
    await waitFor(page, (t) => document.querySelector('#nav a')?.textContent === t, en['nav.overview'], 5000);
    return '';
  });

  await check('console-host-page', async () => {
    await page.goto(URL0 + `/#/host/${E.HOST1}`);
    await page.waitForSelector('#host-actions', { timeout: 10000 });
    const h1 = await page.textContent('main h1');
    const btns = await page.$$eval('#host-actions button', (b) => b.map((x) => x.id));
    if (!h1.includes('web-1')) return `heading '${h1}'`;
    if (!btns.includes('btn-revoke') || !btns.includes('btn-isolate')) return `buttons ${btns}`;
    await shot(page, 'host-en');
    // the confirmation dialog: cancel leaves everything as it was
    await page.click('#btn-isolate');
    await page.waitForSelector('#confirm[open]', { timeout: 5000 });
    const q = await page.textContent('#confirm-text');
    await page.click('#confirm-no');
    const note = await page.textContent('#action-note');
    return q.includes('web-1') && !note ? '' : `dialog '${q}' note '${note}'`;
  });

  await check('console-isolate-through-confirmation', async () => {
    await page.click('#btn-isolate');
    await page.waitForSelector('#confirm[open]', { timeout: 5000 });
    const [resp] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/commands') && r.request().method() === 'POST', { timeout: 10000 }),
      page.click('#confirm-yes'),
    ]);
    if (![200, 201, 202].includes(resp.status())) return `POST commands -> ${resp.status()}`;
    const want = ['pending', 'sent', 'ok', 'failed'].map((x) => en[`isolation.isolate.${x}`]);
    await waitFor(page, (w) => w.includes(document.querySelector('#host-isolation')?.textContent), want, 10000);
    const row = await page.textContent('#commands-body tr:first-child');
    return row.includes(en['cmd.isolate']) && row.includes('alice') ? '' : `commands row '${row}'`;
  });

  const xss = '<img src=x onerror=alert(1)>';
  await check('console-xss-alert-fields-inert', async () => {
    await page.goto(URL0 + '/#/');
    await page.waitForSelector('#alerts-body tr', { timeout: 10000 });
    await new Promise((r) => setTimeout(r, 500));
    agentAlert(xss);
    await waitFor(page, (s) => [...document.querySelectorAll('#alerts-body a')].some((a) => a.textContent === s), xss, 15000);
    await page.click(`#alerts-body tr:first-child td:last-child a`);
    await page.waitForSelector('#alert-summary', { timeout: 10000 });
    await page.goto(URL0 + `/#/alert/${E.XSS_ALERT}`); // stored with files holding markup
    await page.waitForSelector('#alert-files li', { timeout: 10000 });
    const files = await page.$$eval('#alert-files li', (l) => l.map((x) => x.textContent));
    await new Promise((r) => setTimeout(r, 1000));
    const imgs = await page.$$eval('main img, #live img', (l) => l.length);
    if (page.dialogs.length) return `a dialog fired: ${page.dialogs}`;
    if (imgs) return `${imgs} img elements were created`;
    return files.includes(xss) ? '' : `files shown ${JSON.stringify(files)}`;
  });

  await check('console-enrollment-token-page', async () => {
    await page.goto(URL0 + '/#/tokens');
    await page.waitForSelector('#token-form', { timeout: 10000 });
    await page.fill('#token-site', 'osaka');
    await page.click('#token-form button[type=submit]');
    await page.waitForSelector('#token-command', { timeout: 10000 });
    const cmd = await page.textContent('#token-command');
    await shot(page, 'tokens-en');
    return /^mamori agent enroll --server https:\/\/\S+ --token mamori1\.\S+$/.test(cmd) ? '' : `command '${cmd}'`;
  });

  await check('console-csrf-missing-token-refused', async () => {
    const r = await page.evaluate(async () => {
      const x = await fetch('/api/v1/tokens', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"site":"osaka"}' });
      return x.status;
    });
    return r === 403 ? '' : `status ${r}`;
  });

  await check('console-no-page-errors', async () => (page.errors.length ? page.errors.slice(0, 3).join(' | ') : ''));

  await check('console-logout-ends-session-server-side', async () => {
    const old = (await ctx.cookies()).find((c) => c.name === 'mamori_session').value;
    await page.click('#logout');
    await page.waitForSelector('#login', { timeout: 10000 });
    await ctx.addCookies([{ name: 'mamori_session', value: old, url: URL0, secure: true, httpOnly: true, sameSite: 'Strict' }]);
    const r = await page.evaluate(async () => (await fetch('/api/v1/session')).status);
    return r === 401 ? '' : `old cookie after logout -> ${r}`;
  });
  await ctx.close();

  // a site admin of osaka: kyoto does not exist for it, in the page and the API
  const o = await newPage('ja-JP');
  await o.page.goto(URL0 + '/');
  await check('console-default-language-from-browser', async () => {
    await o.page.waitForSelector('#login', { timeout: 10000 });
    const h = await o.page.textContent('#login h1');
    return h === ja['login.title'] ? '' : `heading '${h}'`;
  });
  await shot(o.page, 'login-ja');
  await check('console-site-admin-other-site-refused', async () => {
    await login(o.page, 'oscar', E.PW_OSAKA);
    await o.page.waitForSelector('#sites .card', { timeout: 10000 });
    const sites = await o.page.$$eval('#sites .card', (n) => n.map((x) => x.dataset.site));
    if (sites.join() !== 'osaka') return `sites ${sites}`;
    await o.page.goto(URL0 + `/#/host/${E.HOST2}`);
    await o.page.waitForSelector('#error', { timeout: 10000 });
    const t = await o.page.textContent('#error');
    if (t !== ja['error.notfound']) return `page '${t}'`;
    const codes = await o.page.evaluate(async (h) => Promise.all(
      [`/api/v1/hosts/${h}`, '/api/v1/sites/kyoto', `/api/v1/alerts?host=${h}`, `/api/v1/hosts/${h}/commands`]
        .map(async (u) => (await fetch(u)).status)), E.HOST2);
    return codes.every((c) => c === 404) ? '' : `API ${codes}`;
  });
  await o.ctx.close();

  // a phone-sized screen: the overview still fits
  const m = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 390, height: 844 }, locale: 'en-US' });
  const mp = await m.newPage();
  await mp.goto(URL0 + '/');
  await check('console-phone-layout', async () => {
    await login(mp, 'alice', E.PW_ADMIN);
    await mp.waitForSelector('#alerts-body tr', { timeout: 10000 });
    const w = await mp.evaluate(() => document.documentElement.scrollWidth);
    return w <= 400 ? '' : `page is ${w}px wide on a 390px screen`;
  });
  await shot(mp, 'overview-phone');
  await m.close();
} finally {
  await browser.close();
}
for (const s of shots) console.log(`screenshot ${s}`);
process.exit(failed ? 1 : 0);
