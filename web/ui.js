// ui.js - what the console's pages share: severity and status badges, links,
// responsive tables, lists paged with the API's keyset cursors ("more"),
// the confirmation dialog, response-command rows and their outcome in
// words, the error sink and the refresh of a page while a command waits for
// its host. Builds with el() (text nodes only); reads /api/v1 through api.js.
import { el } from './dom.js';
import { t, fmtTime } from './i18n.js';
import { get, qs } from './api.js';

export const SEVS = ['critical', 'high', 'medium', 'low', 'info'];
const REFRESH_MS = 1500; // a page with a command in flight is read again this often

export const sevBadge = (s) => el('span', { class: `sev sev-${SEVS.includes(s) ? s : 'info'}` }, t(`sev.${SEVS.includes(s) ? s : 'info'}`));
export const status = (s) => el('span', { class: `st-${s}` }, t(`status.${s}`));
export const link = (href, text) => el('a', { href }, text);
export const td = (label, ...kids) => el('td', { 'data-label': t(label) }, ...kids);

export function table(cols, bodyId) {
  return el('table', { class: 'resp' },
    el('thead', null, el('tr', null, cols.map((c) => el('th', null, t(c))))),
    el('tbody', { id: bodyId }));
}

let errorSink = () => {};
export function onError(fn) { errorSink = fn; }
export function showError(e) { errorSink(e); }

// Fill tbody with rows of a paged list; a "more" button fetches the next page.
export async function paged(tbody, url, params, row) {
  const more = el('button', { type: 'button', class: 'more' }, t('more'));
  let cursor = null;
  const next = async () => {
    more.disabled = true;
    const page = await get(url + qs({ ...params, cursor }));
    for (const it of page.items) tbody.appendChild(row(it));
    if (!page.items.length && !tbody.firstChild) {
      tbody.appendChild(el('tr', null, el('td', { colspan: 9, class: 'muted' }, t('none'))));
    }
    cursor = page.next_cursor;
    more.hidden = !cursor;
    more.disabled = false;
  };
  more.addEventListener('click', () => next().catch(showError));
  await next();
  return more;
}

// The page's modal question; resolves true for "yes".
export function confirmDialog(text) {
  const d = document.getElementById('confirm');
  document.getElementById('confirm-text').textContent = text;
  document.getElementById('confirm-no').textContent = t('confirm.no');
  document.getElementById('confirm-yes').textContent = t('confirm.yes');
  return new Promise((resolve) => {
    d.addEventListener('close', () => resolve(d.returnValue === 'yes'), { once: true });
    d.returnValue = 'no';
    d.showModal();
  });
}

// A value or list as a list (absent: empty).
export function asList(v) {
  if (v === undefined || v === null) return [];
  return Array.isArray(v) ? v : [v];
}

export function show(v) {
  return typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v);
}

// Links to the incident and the outbreak an alert belongs to.
export function incidentLinks(a) {
  return [a.incident_id ? link(`#/incident/${a.incident_id}`, t('incident.ref', { id: a.incident_id })) : null,
    a.incident_id && a.outbreak_id ? ' ' : null,
    a.outbreak_id ? link(`#/incident/${a.outbreak_id}`, t('incident.ref', { id: a.outbreak_id })) : null];
}

const CMD_ACTIONS = ['isolate', 'release', 'kill', 'restore'];

// A command's status label; once it ended, the outcome in words and the
// host's own report (the agent's text, shown as it came).
export function commandOutcome(action, st, message) {
  const done = st === 'ok' || st === 'failed';
  return [t(`cmd.status.${st}`),
    done && CMD_ACTIONS.includes(action) ? [t('sep'), t(`cmd.result.${action}.${st}`)] : null,
    done && message ? el('div', { class: 'muted cmd-report' }, t('cmd.report', { message })) : null];
}

export const COMMAND_COLS = ['col.time', 'col.action', 'col.status', 'col.by'];

// One response command (GET /hosts/{id}/commands, an incident's commands).
export function commandRow(c) {
  const arg = c.actor || c.alert;
  return el('tr', { 'data-command': c.id, 'data-action': c.action, 'data-status': c.status },
    td('col.time', fmtTime(c.created_ms)),
    td('col.action', t(`cmd.${c.action}`), arg ? [' ', el('code', null, arg)] : null),
    td('col.status', commandOutcome(c.action, c.status, c.message)),
    td('col.by', c.created_by));
}

export const inFlight = (cmds) => cmds.some((c) => c.status === 'pending' || c.status === 'sent');

// While busy (a command waits for its host), render the page again in a
// moment, unless the user went elsewhere meanwhile. One timer at a time.
let refreshTimer = null;
export function refreshWhile(busy, rerender) {
  clearTimeout(refreshTimer);
  refreshTimer = null;
  if (!busy) return;
  const at = location.hash;
  refreshTimer = setTimeout(() => {
    refreshTimer = null;
    if (location.hash === at) rerender();
  }, REFRESH_MS);
}
