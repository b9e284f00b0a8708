// console.mjs - the web console in a real browser (Debian's chromium driven
// by playwright-core), against the server tests/integration/test_console.sh
// started. Every check prints "PASS name" or "FAIL name: why".
// Environment: URL, ART (screenshot directory), MAMORI, AGENT1 (an agent
// directory of site osaka), HOST1 (its host id), HOST2 (a kyoto host id),
// PW_ADMIN, PW_OSAKA, PW_KYOTO, PW_EVE, CHROMIUM; AGENT1_PID and
// AGENT1_NETNS (the agent of HOST1 runs in that network namespace: checked
// before the page isolates it), REACH_CMD (a shell command that succeeds
// when HOST1's namespace can reach a listener outside it); INCIDENT (an
// incident of HOST1 made by a real guard alert, RANSOM_ALERT, actor
// ACTOR_KEY and program ACTOR_EXE, on the files under SHARE; its pids and
// ppids as JSON arrays ACTOR_PIDS_JSON, ACTOR_PPIDS_JSON and the pid of the
// process that started it, ACTOR_PARENT); SILENT_ALERT
// and SILENT_INCIDENT (HOST2, db-1 of kyoto, went silent: its alert and
// incident); RECV_URL, RECV_OUT (a webhook receiver and the file it writes
// what it gets to); API_TOKEN (an admin's bearer token) and CA (the
// server's CA certificate) for changes made by someone else.
import { chromium } from 'playwright-core';
import { execFileSync } from 'node:child_process';
import { readFileSync, readlinkSync } from 'node:fs';
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
// Can HOST1's namespace reach the listener outside it?
function reaches() {
  try { execFileSync('bash', ['-c', E.REACH_CMD], { stdio: 'ignore', timeout: 10000 }); return true; } catch { return false; }
}
// Does the agent of HOST1 run in its own network namespace (not ours)?
function agentInItsNamespace() {
  const theirs = readlinkSync(`/proc/${E.AGENT1_PID}/ns/net`);
  const ns = execFileSync('ip', ['netns', 'exec', E.AGENT1_NETNS, 'readlink', '/proc/self/ns/net']).toString().trim();
  return theirs !== readlinkSync('/proc/self/ns/net') && theirs === ns;
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// A catalogue text with its {placeholders} filled, as the page does.
const fill = (s, v) => s.replace(/\{([a-z_]+)\}/g, (m, k) => (k in v ? String(v[k]) : m));
// A catalogue text with {placeholders} as a pattern.
const pattern = (s) => new RegExp(s.split(/\{[a-z]+\}/).map((x) => x.replace(/[.*+?^$()|[\]\\]/g, '\\$&')).join('.*'));
function agentAlert(summary, severity = 'high', kind = 'drill') {
  execFileSync(E.MAMORI, ['agent', 'alert', '--dir', E.AGENT1, '--kind', kind, '--severity', severity, '--summary', summary]);
}
// Someone else resolves an incident: the API with a bearer token (curl).
function apiResolve(id) {
  return execFileSync('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '20', '--cacert', E.CA,
    '-X', 'POST', '-H', `Authorization: Bearer ${E.API_TOKEN}`, `${URL0}/api/v1/incidents/${id}/resolve`]).toString();
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
// The statuses of API requests made by the page's session: [method, path,
// body] each; writes carry the session's CSRF token, as the page's do.
async function statuses(page, reqs) {
  return page.evaluate(async (rs) => {
    const s = await (await fetch('/api/v1/session')).json();
    return Promise.all(rs.map(async ([method, u, b]) => (await fetch(u, {
      method,
      headers: method === 'GET' ? {} : { 'Content-Type': 'application/json', 'X-CSRF-Token': s.csrf_token },
      body: b === undefined ? undefined : JSON.stringify(b),
    })).status));
  }, reqs);
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
  const liveTitle = fill(en['ak.drill.title'], { host: 'web-1', summary: live });
  await check('console-live-alert-without-reload', async () => {
    await page.evaluate(() => { window.__noReload = true; });
    await new Promise((r) => setTimeout(r, 500)); // the event stream is open
    agentAlert(live, 'critical');
    await waitFor(page, (s) => [...document.querySelectorAll('#alerts-body a')].some((a) => a.textContent === s), liveTitle, 15000);
    return (await page.evaluate(() => window.__noReload)) ? '' : 'the page reloaded';
  });

  await check('console-open-alert', async () => {
    await page.click(`#alerts-body a:text-is("${liveTitle}")`);
    await page.waitForSelector('#alert-summary', { timeout: 10000 });
    const s = await page.textContent('#alert-summary');
    const next = await page.$$eval('#alert-next li', (l) => l.map((x) => x.textContent));
    return s === liveTitle && next[0] === fill(en['ak.drill.next'], { host: 'web-1' }) ? '' : `title '${s}' next ${JSON.stringify(next)}`;
  });
  await shot(page, 'alert-en');

  // back to English whatever happened: the checks after this read English text
  const backToEnglish = async () => {
    if ((await page.$eval('#lang', (x) => x.value)) === 'en') return;
    await page.selectOption('#lang', 'en');
    await waitFor(page, (t) => document.querySelector('#nav a')?.textContent === t, en['nav.overview'], 5000);
  };
  await check('console-switch-language-ja-and-back', async () => {
    try {
      await page.selectOption('#lang', 'ja');
      await waitFor(page, (t) => document.querySelector('#nav a')?.textContent === t, ja['nav.overview'], 5000);
      // the page is drawn again in Japanese once its data is back
      await waitFor(page, (t) => document.querySelector('dl.kv dt')?.textContent === t, ja['col.time'], 10000);
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
      return '';
    } finally { await backToEnglish(); }
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

  // Isolate from the page: the agent runs in a network namespace of the
  // test (checked first: never isolate ours); once the command is ok that
  // namespace cannot reach the listener outside it, while the agent stays
  // online; release gives the reach back.
  const isoText = (st) => en[`isolation.isolate.${st}`];
  let isolated = false;
  await check('console-isolate-cuts-the-namespace-off', async () => {
    if (!agentInItsNamespace()) return 'the agent of HOST1 is not in its own network namespace: refusing to isolate';
    if (!reaches()) return 'the namespace cannot reach the listener before the isolate';
    await page.click('#btn-isolate');
    await page.waitForSelector('#confirm[open]', { timeout: 5000 });
    const [resp] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/commands') && r.request().method() === 'POST', { timeout: 10000 }),
      page.click('#confirm-yes'),
    ]);
    if (resp.status() !== 202) return `POST commands -> ${resp.status()}`;
    isolated = true;
    const want = [isoText('ok'), isoText('failed')];
    await waitFor(page, (w) => w.includes(document.querySelector('#host-isolation')?.textContent), want, 30000);
    const state = await page.textContent('#host-isolation');
    if (state !== isoText('ok')) return `isolation state '${state}'`;
    const row = await page.textContent('#commands-body tr:first-child');
    if (!row.includes(en['cmd.isolate']) || !row.includes('alice') || !row.includes(en['cmd.status.ok'])) return `commands row '${row}'`;
    if (reaches()) return 'the namespace still reaches the listener after the isolate';
    await sleep(4000); // longer than the server's --offline-after (3 s)
    const h = await page.evaluate(async (id) => (await fetch(`/api/v1/hosts/${id}`)).json(), E.HOST1);
    if (h.status !== 'online') return `the host is ${h.status} while isolated (its link to the server must stay)`;
    if (reaches()) return 'the namespace reaches the listener again without a release';
    await shot(page, 'host-isolated-en');
    return '';
  });

  await check('console-release-gives-the-network-back', async () => {
    if (!isolated) return 'not isolated by the page';
    await page.click('#btn-release');
    await page.waitForSelector('#confirm[open]', { timeout: 5000 });
    const q = await page.textContent('#confirm-text');
    if (!q.includes('web-1')) return `dialog '${q}'`;
    await page.click('#confirm-yes');
    const want = [en['isolation.release.ok'], en['isolation.release.failed']];
    await waitFor(page, (w) => w.includes(document.querySelector('#host-isolation')?.textContent), want, 30000);
    const state = await page.textContent('#host-isolation');
    if (state !== en['isolation.release.ok']) return `isolation state '${state}'`;
    for (let i = 0; i < 20 && !reaches(); i++) await sleep(250);
    return reaches() ? '' : 'the namespace cannot reach the listener after the release';
  });

  const xss = '<img src=x onerror=alert(1)>';
  await check('console-xss-alert-fields-inert', async () => {
    await page.goto(URL0 + '/#/');
    await page.waitForSelector('#alerts-body tr', { timeout: 10000 });
    await new Promise((r) => setTimeout(r, 500));
    agentAlert(xss);
    const title = fill(en['ak.drill.title'], { host: 'web-1', summary: xss });
    await waitFor(page, (s) => [...document.querySelectorAll('#alerts-body a')].some((a) => a.textContent === s), title, 15000);
    await page.click(`#alerts-body tr:first-child a[href^="#/alert/"]`);
    await page.waitForSelector('#alert-summary', { timeout: 10000 });
    if ((await page.textContent('#alert-what')) !== fill(en['ak.drill.what'], { host: 'web-1', summary: xss })) return `what '${await page.textContent('#alert-what')}'`;
    await page.goto(URL0 + `/#/alert/${E.XSS_ALERT}`); // stored with files and a program holding markup
    await page.waitForSelector('#alert-files li', { timeout: 10000 });
    const files = await page.$$eval('#alert-files li', (l) => l.map((x) => x.textContent));
    const what = await page.textContent('#alert-what');
    if (!what.includes(`/tmp/${xss}`)) return `the program is not in the text: '${what}'`;
    await new Promise((r) => setTimeout(r, 1000));
    const imgs = await page.$$eval('main img, #live img', (l) => l.length);
    if (page.dialogs.length) return `a dialog fired: ${page.dialogs}`;
    if (imgs) return `${imgs} img elements were created`;
    return files.includes(xss) ? '' : `files shown ${JSON.stringify(files)}`;
  });

  // Live incidents: the list and an incident's page follow the event
  // stream - a new incident, an alert that joins one, a resolution made by
  // someone else (the API with a bearer token) - without a reload
  await check('console-incidents-list-live', async () => {
    await page.goto(URL0 + '/#/incidents');
    await page.waitForSelector('#incidents-body tr[data-incident]', { timeout: 10000 });
    await page.evaluate(() => { window.__noReload = true; });
    await sleep(500); // the event stream is open
    const kind = `drill_live${Date.now() % 100000}`; // a kind without texts: the server's title
    agentAlert('a new incident', 'high', kind);
    const top = '#incidents-body tr[data-incident]';
    await waitFor(page, ([sel, k]) => document.querySelector(`${sel} a[href^="#/incident/"]`)?.textContent === `${k} on web-1`, [top, kind], 15000);
    const id = await page.getAttribute(top, 'data-incident');
    const code = apiResolve(id);
    if (code !== '200') return `resolve through the API -> ${code}`;
    const row = `#incidents-body tr[data-incident="${id}"]`;
    await waitFor(page, (r) => document.querySelector(r)?.dataset.status === 'resolved', row, 15000);
    const text = await page.textContent(row);
    if (!text.includes(en['incident.status.resolved'])) return `row '${text}'`;
    return (await page.evaluate(() => window.__noReload)) ? '' : 'the page reloaded';
  });

  await check('console-incident-page-live', async () => {
    const inc = await page.evaluate(async (s) => (await (await fetch('/api/v1/alerts?limit=100')).json())
      .items.find((a) => a.summary === s)?.incident_id, live);
    if (!inc) return 'the live drill alert has no incident';
    await page.goto(`${URL0}/#/incident/${inc}`);
    await page.waitForSelector('#timeline li', { timeout: 10000 });
    await page.evaluate(() => { window.__noReload = true; });
    const alerts = () => page.$$eval('#timeline li[data-type=alert]', (l) => l.length);
    const n0 = await alerts();
    const count0 = Number(await page.textContent('#incident-facts dd:last-of-type'));
    await sleep(500);
    const joined = `joins the incident ${Date.now()}`;
    agentAlert(joined);
    const title = fill(en['ak.drill.title'], { host: 'web-1', summary: joined });
    await waitFor(page, (x) => [...document.querySelectorAll('#timeline li[data-type=alert] a')].some((a) => a.textContent === x), title, 15000);
    const n1 = await alerts();
    const count1 = Number(await page.textContent('#incident-facts dd:last-of-type'));
    if (n1 !== n0 + 1 || count1 !== count0 + 1) return `timeline ${n0} -> ${n1} alerts, count ${count0} -> ${count1}`;
    const code = apiResolve(inc);
    if (code !== '200') return `resolve through the API -> ${code}`;
    await page.waitForSelector('#timeline li[data-type=resolved]', { timeout: 15000 });
    const st = await page.textContent('#incident-status');
    if (!st.startsWith(en['incident.status.resolved']) || !st.includes('(ci)') || (await page.$('#btn-resolve'))) return `status '${st}'`;
    await shot(page, 'incident-live-en');
    return (await page.evaluate(() => window.__noReload)) ? '' : 'the page reloaded';
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

  // The overview's site card counts the site's open incidents by severity, as the API does
  await check('console-overview-open-incidents', async () => {
    await page.goto(URL0 + '/#/');
    const card = '#sites .card[data-site="osaka"] .open-incidents';
    await page.waitForSelector(card, { timeout: 10000 });
    const api = await page.evaluate(async () =>
      (await (await fetch('/api/v1/sites')).json()).items.find((x) => x.name === 'osaka').open_incidents);
    const text = await page.textContent(card);
    const want = Object.entries(api).filter(([, n]) => n > 0);
    if (!want.length) return `no open incident of osaka in the API: ${JSON.stringify(api)}`;
    return want.every(([k, n]) => text.includes(`${en[`sev.${k}`]} ${n}`)) ? '' : `card '${text}', API ${JSON.stringify(api)}`;
  });

  // The incident of the real attack, from the overview's alert row
  const incUrl = `${URL0}/#/incident/${E.INCIDENT}`;
  await check('console-incident-from-overview', async () => {
    await page.goto(URL0 + '/#/');
    await page.waitForSelector(`#alerts-body tr[data-alert="${E.RANSOM_ALERT}"]`, { timeout: 10000 });
    await page.click(`#alerts-body tr[data-alert="${E.RANSOM_ALERT}"] a[href="#/incident/${E.INCIDENT}"]`);
    await page.waitForSelector('#timeline li', { timeout: 15000 });
    const title = await page.textContent('#incident-title');
    const actor = await page.textContent('#incident-actor');
    if (!page.url().endsWith(`#/incident/${E.INCIDENT}`)) return `at ${page.url()}`;
    return title.includes('web-1') && actor === E.ACTOR_KEY ? '' : `title '${title}' actor '${actor}'`;
  });

  await check('console-incident-timeline', async () => {
    const entry = `#timeline li[data-type=alert][data-alert="${E.RANSOM_ALERT}"]`;
    await page.waitForSelector(entry, { timeout: 10000 });
    const files = await page.$$eval(`${entry} .tl-files li`, (l) => l.map((x) => x.textContent));
    const inds = await page.$$eval(`${entry} .tl-indicators li`, (l) => l.map((x) => x.textContent));
    const did = await page.$$eval(`${entry} .tl-did li`, (l) => l.map((x) => x.textContent));
    const pids = await page.$$eval(`${entry} .tl-tree li[data-pid]`, (l) => l.map((x) => x.dataset.pid));
    const root = E.ACTOR_KEY.split('-')[1];
    if (!files.length || !files.every((f) => f.startsWith(E.SHARE + '/'))) return `files ${JSON.stringify(files.slice(0, 3))}`;
    if (!inds.length) return 'no indicators';
    if (!pattern(en['ak.ransomware.did.freeze']).test(did[0] || '')) return `what the guard did: ${JSON.stringify(did)}`;
    if (pids[0] !== root) return `process tree ${pids} (root ${root})`;
    // the guard's parent links: the actor's parent above the root, each
    // member under its parent when that is a member, else under the root
    const tree = await page.$eval(`${entry} .tl-tree`, (u) => ({
      linked: u.dataset.linked,
      parent: u.querySelector(':scope > li.tl-parent')?.dataset.parentPid,
      parentText: u.querySelector(':scope > li.tl-parent')?.textContent,
      firstUnderParent: u.querySelector(':scope > li.tl-parent li[data-pid]')?.dataset.pid,
      up: [...u.querySelectorAll('li[data-pid]')].map((x) => [x.dataset.pid, x.parentElement.closest('li[data-pid]')?.dataset.pid]),
    }));
    const mp = JSON.parse(E.ACTOR_PIDS_JSON || '[]').map(String), pp = JSON.parse(E.ACTOR_PPIDS_JSON || '[]').map(String);
    if (tree.linked !== 'yes' || tree.parent !== E.ACTOR_PARENT || tree.firstUnderParent !== root ||
        !tree.parentText.includes(en['incident.parent'])) return `tree ${JSON.stringify(tree)} (parent ${E.ACTOR_PARENT})`;
    const want = (p) => (p === root ? undefined : mp.includes(pp[mp.indexOf(p)]) ? pp[mp.indexOf(p)] : root);
    const wrong = tree.up.filter(([p, q]) => q !== want(p));
    if (wrong.length || tree.up.length !== new Set(mp).size) return `tree links ${JSON.stringify(tree.up)} for pids ${mp} ppids ${pp}`;
    return '';
  });
  await shot(page, 'incident-en');

  // kill the actor and restore its files from the page, each confirmed;
  // the commands list says who asked and how it ended
  const commandDone = async (action, timeout) => {
    const row = `#incident-commands tr[data-action=${action}]`;
    await waitFor(page, (r) => ['ok', 'failed'].includes(document.querySelector(r)?.dataset.status), row, timeout);
    const st = await page.getAttribute(row, 'data-status');
    const text = await page.textContent(row);
    return st === 'ok' && text.includes('alice') ? '' : `${action} row [${st}] '${text}'`;
  };
  await check('console-incident-kill-actor', async () => {
    await page.click('#btn-kill');
    await page.waitForSelector('#confirm[open]', { timeout: 5000 });
    const q = await page.textContent('#confirm-text');
    if (!q.includes(E.ACTOR_KEY)) return `dialog '${q}'`;
    await page.click('#confirm-yes');
    const why = await commandDone('kill', 30000);
    if (why) return why;
    const steps = await page.$$eval('#timeline li[data-type^=command]', (l) => l.map((x) => x.textContent));
    return steps.some((x) => x.includes('alice') && x.includes(en['cmd.kill'])) ? '' : `timeline ${JSON.stringify(steps)}`;
  });
  await check('console-incident-restore-files', async () => {
    await page.click('#btn-restore');
    await page.waitForSelector('#confirm[open]', { timeout: 5000 });
    await page.click('#confirm-yes');
    return commandDone('restore', 60000);
  });
  await check('console-incident-japanese', async () => {
    try {
      await page.selectOption('#lang', 'ja');
      await waitFor(page, (x) => [...document.querySelectorAll('main h2')].some((h) => h.textContent === x), ja['incident.timeline'], 10000);
      const did = await page.textContent(`#timeline li[data-alert="${E.RANSOM_ALERT}"] .tl-did li`);
      await shot(page, 'incident-ja');
      return pattern(ja['ak.ransomware.did.freeze']).test(did) ? '' : `ja guard text '${did}'`;
    } finally {
      await backToEnglish();
      await waitFor(page, (x) => [...document.querySelectorAll('main h2')].some((h) => h.textContent === x), en['incident.timeline'], 10000);
    }
  });
  // Japanese alert texts from the catalogues: title and next steps of the
  // guard's ransomware alert and of db-1's host_silent, on the alert pages
  // and their incidents' pages
  await check('console-alert-and-incident-texts-japanese', async () => {
    try {
      await page.selectOption('#lang', 'ja');
      await waitFor(page, (x) => document.querySelector('#nav a')?.textContent === x, ja['nav.overview'], 5000);
      const texts = (sel) => page.$$eval(sel, (l) => l.map((x) => x.textContent));
      const at = async (url, sel, want) => {
        await page.goto(url);
        await waitFor(page, ([s, w]) => document.querySelector(s)?.textContent === w, [sel, want], 10000);
      };
      const restore = fill(ja['ak.ransomware.next.restore'], { button: ja['action.restore'] });
      await at(`${URL0}/#/alert/${E.RANSOM_ALERT}`, '#alert-summary', fill(ja['ak.ransomware.title.freeze'], { host: 'web-1' }));
      let next = await texts('#alert-next li');
      if (!next.includes(restore) || !next.some((x) => pattern(ja['ak.ransomware.next.resume']).test(x))) return `ransomware alert: next ${JSON.stringify(next)}`;
      const what = await page.textContent('#alert-what');
      if (!pattern(ja['ak.ransomware.what']).test(what) || !what.includes(E.ACTOR_EXE)) return `ransomware alert: what '${what}'`;
      await shot(page, 'alert-ransomware-ja');
      await at(incUrl, '#incident-title', fill(ja['incident.title.host.exe'], { host: 'web-1', what: ja['ak.ransomware.name'], exe: E.ACTOR_EXE }));
      next = await texts('#incident-next li');
      if (!next.includes(restore)) return `ransomware incident: next ${JSON.stringify(next)}`;
      const silentNext = fill(ja['ak.host_silent.next'], { host: 'db-1' });
      await at(`${URL0}/#/alert/${E.SILENT_ALERT}`, '#alert-summary', fill(ja['ak.host_silent.title'], { host: 'db-1', site: 'kyoto' }));
      next = await texts('#alert-next li');
      if (next[0] !== silentNext) return `host_silent alert: next ${JSON.stringify(next)}`;
      await at(`${URL0}/#/incident/${E.SILENT_INCIDENT}`, '#incident-title', fill(ja['incident.title.host'], { host: 'db-1', what: ja['ak.host_silent.name'] }));
      next = await texts('#incident-next li');
      if (next[0] !== silentNext) return `host_silent incident: next ${JSON.stringify(next)}`;
      await shot(page, 'incident-silent-ja');
      await page.goto(URL0 + '/#/incidents');
      await page.waitForSelector(`#incidents-body tr[data-incident="${E.SILENT_INCIDENT}"]`, { timeout: 10000 });
      const row = await page.textContent(`#incidents-body tr[data-incident="${E.SILENT_INCIDENT}"]`);
      return row.includes(fill(ja['incident.title.host'], { host: 'db-1', what: ja['ak.host_silent.name'] })) ? '' : `incidents list row '${row}'`;
    } finally { await backToEnglish(); }
  });

  await check('console-incident-resolve', async () => {
    await page.goto(incUrl);
    await page.waitForSelector('#btn-resolve', { timeout: 10000 });
    await page.click('#btn-resolve');
    await page.waitForSelector('#confirm[open]', { timeout: 5000 });
    await page.click('#confirm-yes');
    await page.waitForSelector('#timeline li[data-type=resolved]', { timeout: 10000 });
    const st = await page.textContent('#incident-status');
    return st.startsWith(en['incident.status.resolved']) && st.includes('alice') && !(await page.$('#btn-resolve')) ? '' : `status '${st}'`;
  });

  // alert routing: add a route to the receiver, send a test, remove another
  await check('console-routes-add-and-test', async () => {
    await page.goto(URL0 + '/#/routes');
    await page.waitForSelector('#route-form', { timeout: 10000 });
    await page.selectOption('#route-site', 'osaka');
    await page.selectOption('#route-kind', 'webhook');
    await page.fill('#route-target', E.RECV_URL);
    await page.click('#route-form button[type=submit]');
    await page.waitForSelector('#routes-body tr[data-route]', { timeout: 10000 });
    const row = '#routes-body tr[data-route]';
    const text = await page.textContent(row);
    if (!text.includes('/hook/...') || text.includes(E.RECV_URL.split('/').pop())) return `route row '${text}' (target not masked?)`;
    await page.click(`${row} .route-test`);
    await waitFor(page, (r) => ['delivered', 'failed', 'error'].includes(document.querySelector(`${r} .route-result`)?.dataset.status), row, 30000);
    const res = await page.textContent(`${row} .route-result`);
    if (res !== en['routes.test.delivered']) return `test result '${res}'`;
    const got = readFileSync(E.RECV_OUT, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
    const test = got.find((m) => m.path.endsWith(E.RECV_URL.split('/').pop()) && JSON.parse(m.body).alert.kind === 'test');
    await shot(page, 'routes-en');
    return test ? '' : `the receiver got ${got.length} messages, none a test`;
  });
  await check('console-routes-remove-with-confirmation', async () => {
    await page.selectOption('#route-site', 'kyoto');
    await page.fill('#route-target', 'http://127.0.0.1:9/unused');
    await page.click('#route-form button[type=submit]');
    await waitFor(page, () => document.querySelectorAll('#routes-body tr[data-route]').length === 2, null, 10000);
    const row = '#routes-body tr[data-route]:nth-child(2)';
    const id = await page.getAttribute(row, 'data-route');
    await page.click(`${row} .route-rm`);
    await page.waitForSelector('#confirm[open]', { timeout: 5000 });
    await page.click('#confirm-no');
    if (!(await page.$(`#routes-body tr[data-route="${id}"]`))) return 'cancel removed it';
    await page.click(`${row} .route-rm`);
    await page.waitForSelector('#confirm[open]', { timeout: 5000 });
    await page.click('#confirm-yes');
    await waitFor(page, (x) => !document.querySelector(`#routes-body tr[data-route="${x}"]`), id, 10000);
    const left = await page.$$eval('#routes-body tr[data-route]', (l) => l.length);
    return left === 1 ? '' : `${left} routes left`;
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

  // kyoto's site admin: osaka's incident does not exist for it, nor its routes
  const k = await newPage('en-US');
  await k.page.goto(URL0 + '/');
  await check('console-site-admin-other-site-incident-refused', async () => {
    await login(k.page, 'kenji', E.PW_KYOTO);
    await k.page.waitForSelector('#sites .card', { timeout: 10000 });
    await k.page.goto(incUrl);
    await k.page.waitForSelector('#error', { timeout: 10000 });
    const t = await k.page.textContent('#error');
    if (t !== en['error.notfound']) return `page '${t}'`;
    const codes = await statuses(k.page, [
      ['GET', `/api/v1/incidents/${E.INCIDENT}`], ['POST', `/api/v1/incidents/${E.INCIDENT}/resolve`],
      ['POST', `/api/v1/hosts/${E.HOST1}/commands`, { action: 'isolate' }], ['GET', `/api/v1/incidents?host=${E.HOST1}`]]);
    if (!codes.every((c) => c === 404)) return `API ${codes}`;
    await k.page.goto(URL0 + '/#/routes');
    await k.page.waitForSelector('#routes-body', { timeout: 10000 });
    const routes = await k.page.$$eval('#routes-body tr[data-route]', (l) => l.map((x) => x.textContent));
    return routes.some((x) => x.includes('osaka')) ? `sees osaka's routes: ${routes}` : '';
  });
  await k.ctx.close();

  // a viewer reads the incident and the routes, and has no buttons
  const w = await newPage('en-US');
  await w.page.goto(URL0 + '/');
  await check('console-viewer-no-actions', async () => {
    await login(w.page, 'eve', E.PW_EVE);
    await w.page.waitForSelector('#sites .card', { timeout: 10000 });
    await w.page.goto(incUrl);
    await w.page.waitForSelector('#timeline li', { timeout: 10000 });
    const btns = await w.page.$$eval('#incident-actions button', (b) => b.map((x) => x.id));
    if (btns.length) return `incident buttons ${btns}`;
    await w.page.goto(`${URL0}/#/host/${E.HOST1}`);
    await w.page.waitForSelector('#host-actions', { state: 'attached', timeout: 10000 });
    const hb = await w.page.$$eval('#host-actions button', (b) => b.map((x) => x.id));
    if (hb.length) return `host buttons ${hb}`;
    await w.page.goto(URL0 + '/#/routes');
    await w.page.waitForSelector('#routes-body tr[data-route]', { timeout: 10000 });
    const rb = await w.page.$$eval('#routes-body button, #route-form', (b) => b.length);
    if (rb) return `${rb} route buttons or forms`;
    const codes = await statuses(w.page, [
      ['POST', `/api/v1/hosts/${E.HOST1}/commands`, { action: 'isolate' }], ['POST', `/api/v1/incidents/${E.INCIDENT}/resolve`, {}],
      ['POST', '/api/v1/routes/1/test']]);
    return codes.every((c) => c === 403) ? '' : `viewer writes -> ${codes}`;
  });
  await w.ctx.close();

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
