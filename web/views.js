// views.js - the console's pages: login, overview, site, host, alert and
// enrollment tokens (incidents: incident.js; alert routing: routes.js).
// Each view fetches what it shows from /api/v1 and builds it with el()
// (text nodes only). Lists that can be long page with the API's keyset
// cursors ("more" button, ui.js).
import { el, svg, clear, put, append } from './dom.js';
import { t, fmtTime, fmtHour } from './i18n.js';
import { get, call, ApiError } from './api.js';
import {
  SEVS, sevBadge, status, link, td, table, paged, showError, confirmDialog, asList, show,
  incidentLinks, commandRow, COMMAND_COLS, inFlight, refreshWhile,
} from './ui.js';
import { alertTitle, alertText, kindName } from './alerttext.js';

export function alertRow(a) {
  return el('tr', { 'data-alert': a.id },
    td('col.time', fmtTime(a.time_ms)),
    td('col.severity', sevBadge(a.severity)),
    td('col.site', a.site ? link(`#/site/${encodeURIComponent(a.site)}`, a.site) : ''),
    td('col.host', a.host_id ? link(`#/host/${encodeURIComponent(a.host_id)}`, a.hostname || a.host_id) : ''),
    td('col.summary', link(`#/alert/${a.id}`, alertTitle(a))),
    td('col.incident', incidentLinks(a)));
}

const ALERT_COLS = ['col.time', 'col.severity', 'col.site', 'col.host', 'col.summary', 'col.incident'];

// ------------------------------------------------------------------ login --
export function loginView(main, onLogin) {
  const err = el('p', { class: 'error', id: 'login-error', role: 'alert' });
  const name = el('input', { id: 'login-name', name: 'name', autocomplete: 'username', required: true });
  const pw = el('input', { id: 'login-password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const code = el('input', { id: 'login-totp', name: 'totp', inputmode: 'numeric', autocomplete: 'one-time-code', maxlength: 6, pattern: '[0-9]{6}' });
  const form = el('form', { class: 'login', id: 'login' },
    el('h1', null, t('login.title')),
    el('label', { for: 'login-name' }, t('login.name')), name,
    el('label', { for: 'login-password' }, t('login.password')), pw,
    el('label', { for: 'login-totp' }, t('login.totp')), code,
    el('button', { type: 'submit', class: 'primary' }, t('login.submit')), err);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    err.textContent = '';
    try {
      const body = { name: name.value, password: pw.value };
      if (code.value) body.totp = code.value;
      const s = await call('POST', '/api/v1/session', body);
      pw.value = '';
      code.value = '';
      onLogin(s);
    } catch (e) {
      err.textContent = e instanceof ApiError && e.status === 429 ? t('login.locked')
        : e instanceof ApiError && e.status === 401 ? t('login.wrong') : t('error.generic');
    }
  });
  clear(main).appendChild(form);
  name.focus();
}

// --------------------------------------------------------------- overview --
function chart(hours) {
  const max = Math.max(1, ...hours.map((h) => h.n));
  const W = 24 * 20, H = 100;
  const s = svg('svg', { class: 'chart', viewBox: `0 0 ${W} ${H + 16}`, role: 'img', 'aria-label': t('overview.chart') });
  hours.forEach((h, i) => {
    const bh = Math.round((h.n / max) * (H - 12));
    const r = svg('rect', { x: i * 20 + 2, y: H - bh, width: 16, height: bh });
    r.appendChild(svg('title', null, t('overview.chart.bar', { n: h.n, hour: fmtHour(h.t) })));
    s.appendChild(r);
    if (i % 3 === 0) s.appendChild(svg('text', { x: i * 20 + 2, y: H + 12 }, fmtHour(h.t)));
  });
  s.appendChild(svg('text', { x: 2, y: 10 }, t('overview.chart.max', { n: max })));
  return s;
}

// Alerts of the last 24 h, counted by the server: per hour, per site and severity.
async function last24h() {
  const c = await get('/api/v1/alerts/counts');
  return {
    hours: c.buckets.map((n, i) => ({ t: c.since_ms + i * c.bucket_ms, n })),
    bySite: Object.fromEntries(c.sites.map((x) => [x.site, x])),
  };
}

export async function overviewView(main) {
  const [sites, stats] = await Promise.all([get('/api/v1/sites?limit=500'), last24h()]);
  const cards = el('div', { class: 'cards', id: 'sites' });
  for (const s of sites.items) {
    const sev = stats.bySite[s.name] || {};
    const inc = s.open_incidents || {};
    cards.appendChild(el('div', { class: 'card', 'data-site': s.name },
      el('h3', null, link(`#/site/${encodeURIComponent(s.name)}`, s.name)),
      el('p', null,
        el('span', { class: 'st-online' }, t('overview.online', { n: s.hosts.online })), t('sep'),
        el('span', { class: 'st-offline' }, t('overview.offline', { n: s.hosts.offline })), t('sep'),
        el('span', { class: 'muted' }, t('overview.total', { n: s.hosts.total }))),
      el('p', null, t('overview.alerts24h'), ' ',
        SEVS.filter((k) => sev[k]).map((k) => [sevBadge(k), ` ${sev[k]} `]),
        SEVS.some((k) => sev[k]) ? null : el('span', { class: 'muted' }, t('none'))),
      el('p', { class: 'open-incidents' }, link('#/incidents', t('overview.openincidents')), ' ',
        SEVS.filter((k) => inc[k]).map((k) => [sevBadge(k), ` ${inc[k]} `]),
        SEVS.some((k) => inc[k]) ? null : el('span', { class: 'muted' }, t('none')))));
  }
  if (!sites.items.length) cards.appendChild(el('p', { class: 'muted' }, t('overview.nosites')));
  const alerts = table(ALERT_COLS, 'alerts-body');
  put(main, 
    el('h1', null, t('overview.title')),
    cards,
    el('h2', null, t('overview.chart')),
    chart(stats.hours),
    el('h2', null, t('overview.last')),
    alerts);
  main.appendChild(await paged(alerts.tBodies[0], '/api/v1/alerts', { limit: 20 }, alertRow));
}

// ------------------------------------------------------------------- site --
export async function siteView(main, name) {
  const s = await get(`/api/v1/sites/${encodeURIComponent(name)}`);
  const hosts = table(['col.host', 'col.status', 'col.version', 'col.lastseen', 'col.isolation'], 'hosts-body');
  put(main, 
    el('h1', null, t('site.title', { name: s.name })),
    el('p', null, t('overview.online', { n: s.hosts.online }), t('sep'), t('overview.offline', { n: s.hosts.offline }),
      t('sep'), t('overview.total', { n: s.hosts.total })),
    el('h2', null, t('site.hosts')), hosts);
  main.appendChild(await paged(hosts.tBodies[0], '/api/v1/hosts', { site: s.name, limit: 50 }, (h) =>
    el('tr', null,
      td('col.host', link(`#/host/${encodeURIComponent(h.id)}`, h.hostname)),
      td('col.status', status(h.status)),
      td('col.version', h.version || t('unknown')),
      td('col.lastseen', fmtTime(h.last_seen_ms)),
      td('col.isolation', h.isolated === undefined ? t('unknown') : t(h.isolated ? 'isolation.on' : 'isolation.off')))));
  const alerts = table(ALERT_COLS, 'alerts-body');
  append(main, el('h2', null, t('site.alerts')), alerts);
  main.appendChild(await paged(alerts.tBodies[0], '/api/v1/alerts', { site: s.name, limit: 20 }, alertRow));
}

// ------------------------------------------------------------------- host --
export async function hostView(main, id, session, rerender) {
  const h = await get(`/api/v1/hosts/${encodeURIComponent(id)}`);
  const base = `/api/v1/hosts/${encodeURIComponent(h.id)}`;
  const canWrite = session.role !== 'viewer';
  const actions = el('div', { class: 'row', id: 'host-actions' });
  const note = el('p', { class: 'muted', id: 'action-note', role: 'status' });
  const act = async (key, method, path, body) => {
    if (!(await confirmDialog(t(`confirm.${key}`, { host: h.hostname })))) return;
    try {
      await call(method, path, body);
      note.textContent = t(`done.${key}`, { host: h.hostname });
      rerender();
    } catch (e) { showError(e); }
  };
  // isolation state: the newest isolate/release command and its outcome
  const recent = (await get(`${base}/commands?limit=50`)).items;
  const last = recent.find((c) => c.action === 'isolate' || c.action === 'release');
  const iso = last ? t(`isolation.${last.action}.${last.status}`) : t('isolation.off');
  if (canWrite && h.status !== 'revoked') {
    append(actions,
      el('button', { type: 'button', id: 'btn-isolate', class: 'danger', on: { click: () => act('isolate', 'POST', `${base}/commands`, { action: 'isolate' }) } }, t('action.isolate')),
      el('button', { type: 'button', id: 'btn-release', on: { click: () => act('release', 'POST', `${base}/commands`, { action: 'release' }) } }, t('action.release')),
      el('button', { type: 'button', id: 'btn-revoke', class: 'danger', on: { click: () => act('revoke', 'POST', `${base}/revoke`) } }, t('action.revoke')));
  }
  const alerts = table(ALERT_COLS, 'alerts-body');
  put(main,
    el('h1', null, t('host.title', { name: h.hostname })),
    el('dl', { class: 'kv' },
      el('dt', null, t('col.site')), el('dd', null, link(`#/site/${encodeURIComponent(h.site)}`, h.site)),
      el('dt', null, t('col.status')), el('dd', { id: 'host-status' }, status(h.status)),
      el('dt', null, t('col.version')), el('dd', null, h.version || t('unknown')),
      el('dt', null, t('col.isolation')), el('dd', { id: 'host-isolation' }, iso),
      el('dt', null, t('col.enrolled')), el('dd', null, fmtTime(h.enrolled_ms)),
      el('dt', null, t('col.lastseen')), el('dd', null, fmtTime(h.last_seen_ms)),
      el('dt', null, t('col.hostid')), el('dd', null, el('code', null, h.id))),
    actions, note,
    el('h2', null, t('host.alerts')), alerts);
  append(main, await paged(alerts.tBodies[0], '/api/v1/alerts', { host: h.id, limit: 20 }, alertRow));
  const cmds = table(COMMAND_COLS, 'commands-body');
  append(main, el('h2', null, t('host.commands')), cmds);
  append(main, await paged(cmds.tBodies[0], `${base}/commands`, { limit: 20 }, commandRow));
  refreshWhile(inFlight(recent), rerender);
}

// ------------------------------------------------------------------ alert --
export async function alertView(main, id) {
  const a = await get(`/api/v1/alerts/${encodeURIComponent(id)}`);
  const b = a.body && typeof a.body === 'object' ? a.body : {};
  const p = b.process || b.actor || {};
  const pick = (...ks) => { for (const k of ks) { const v = b[k] ?? p[k]; if (v !== undefined && v !== null && v !== '') return v; } return undefined; };
  const fields = [
    ['alert.exe', pick('exe', 'image', 'path')],
    ['alert.cmdline', pick('cmdline', 'command_line')],
    ['alert.user', pick('user', 'uid', 'username')],
    ['alert.pid', pick('pid', 'pids')],
  ];
  const files = asList(b.files ?? b.file ?? b.paths);
  const inds = asList(b.indicators ?? b.reasons ?? b.rules);
  const words = alertText(a, b);
  const did = [...words.did, ...asList(b.actions ?? b.response ?? b.did)];
  const list = (items, id2) => items.length
    ? el('ul', { id: id2 }, items.map((x) => el('li', null, show(typeof x === 'object' && x && x.path ? x.path : x))))
    : el('p', { class: 'muted', id: id2 }, t('none'));
  put(main,
    el('h1', { id: 'alert-summary', 'data-kind': a.kind }, words.title),
    el('div', { id: 'alert-what' }, words.what.map((x) => el('p', null, x))),
    el('dl', { class: 'kv' },
      el('dt', null, t('col.time')), el('dd', null, fmtTime(a.time_ms)),
      el('dt', null, t('col.severity')), el('dd', null, sevBadge(a.severity)),
      el('dt', null, t('col.kind')), el('dd', null, kindName(a.kind), kindName(a.kind) !== a.kind ? [' ', el('code', null, a.kind)] : null),
      el('dt', null, t('col.site')), el('dd', null, a.site ? link(`#/site/${encodeURIComponent(a.site)}`, a.site) : ''),
      el('dt', null, t('col.host')), el('dd', null, a.host_id ? link(`#/host/${encodeURIComponent(a.host_id)}`, a.hostname || a.host_id) : ''),
      a.incident_id || a.outbreak_id ? [el('dt', null, t('col.incident')), el('dd', { id: 'alert-incident' }, incidentLinks(a))] : null,
      fields.filter(([, v]) => v !== undefined).map(([k, v]) => [el('dt', null, t(k)), el('dd', null, el('code', null, show(v)))]),
      a.summary ? [el('dt', null, t('alert.recorded')), el('dd', { id: 'alert-recorded' }, a.summary)] : null),
    el('h2', null, t('alert.did')), list(did, 'alert-did'),
    el('h2', null, t('alert.next')), list(words.next, 'alert-next'),
    el('h2', null, t('alert.files')), list(files, 'alert-files'),
    el('h2', null, t('alert.indicators')), list(inds, 'alert-indicators'),
    el('h2', null, t('alert.body')),
    el('pre', { id: 'alert-body' }, a.body === undefined ? t('none') : JSON.stringify(a.body, null, 2)));
}

// ----------------------------------------------------------------- tokens --
export async function tokensView(main, session) {
  const sites = await get('/api/v1/sites?limit=500');
  const out = el('div', { id: 'token-out' });
  const site = el('input', { id: 'token-site', list: 'site-names', required: true, value: session.site || '' });
  const exp = el('select', { id: 'token-expires' },
    ['1h', '24h', '7d'].map((v) => el('option', { value: v }, t(`tokens.exp.${v}`))));
  const form = el('form', { class: 'card', id: 'token-form' },
    el('p', null, t('tokens.help')),
    el('div', { class: 'row' },
      el('label', { for: 'token-site' }, t('col.site')), site,
      el('datalist', { id: 'site-names' }, sites.items.map((s) => el('option', { value: s.name }))),
      el('label', { for: 'token-expires' }, t('tokens.expires')), exp,
      el('button', { type: 'submit', class: 'primary' }, t('tokens.create'))));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      const r = await call('POST', '/api/v1/tokens', { site: site.value, expires: exp.value });
      put(out, 
        el('h2', null, t('tokens.paste')),
        el('pre', { id: 'token-command' }, r.command),
        el('p', { class: 'muted' }, t('tokens.until', { when: fmtTime(r.expires_ms) })));
    } catch (e) { showError(e); }
  });
  put(main, el('h1', null, t('tokens.title')),
    session.role === 'viewer' ? el('p', { class: 'muted' }, t('tokens.viewer')) : form, out);
}
