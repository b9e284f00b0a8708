// incident.js - the incidents: their list (#/incidents) and one incident
// (#/incident/ID) as a timeline of what happened - each alert with the
// actor's processes, the files it damaged, the indicators and what the guard
// did; the response commands, who asked for them and how they ended; the
// resolution -, what to do next (alerttext.js) and the responses an
// operator may order: isolate or release the host, kill the actor, restore
// the files, resolve, each behind a confirmation. The list and the page
// follow the event stream's incident events (app.js): an alert that joins,
// a resolution made elsewhere. Data: GET /api/v1/incidents,
// /api/v1/incidents/{id} and, for the first BODIES alerts of the timeline,
// GET /api/v1/alerts/{id} (the guard's record). Writes: POST /api/v1/hosts/{id}/commands and
// /api/v1/incidents/{id}/resolve; the server audits them.
import { el, put, append } from './dom.js';
import { t, fmtTime } from './i18n.js';
import { get, call } from './api.js';
import {
  sevBadge, link, td, table, paged, showError, confirmDialog, asList, show,
  commandRow, commandOutcome, COMMAND_COLS, inFlight, refreshWhile,
} from './ui.js';
import { alertTitle, guardDid, incidentTitle, incidentNext } from './alerttext.js';

const BODIES = 20; // alerts whose full record the page reads

const hostLink = (id, name) => (id ? link(`#/host/${encodeURIComponent(id)}`, name || id) : '');
const siteLink = (s) => (s ? link(`#/site/${encodeURIComponent(s)}`, s) : '');

// ------------------------------------------------------------------ list --
function incidentRow(i) {
  return el('tr', { 'data-incident': i.id, 'data-status': i.status },
    td('col.last', fmtTime(i.last_ms)),
    td('col.severity', sevBadge(i.severity)),
    td('col.status', t(`incident.status.${i.status}`)),
    td('col.site', siteLink(i.site)),
    td('col.host', i.kind === 'host' ? hostLink(i.host_id, i.hostname) : t('incident.kind.outbreak')),
    td('col.title', link(`#/incident/${i.id}`, incidentTitle(i))));
}

export async function incidentsView(main) {
  const list = table(['col.last', 'col.severity', 'col.status', 'col.site', 'col.host', 'col.title'], 'incidents-body');
  put(main, el('h1', null, t('incidents.title')), list);
  main.appendChild(await paged(list.tBodies[0], '/api/v1/incidents', { limit: 20 }, incidentRow));
}

// An incident opened or changed elsewhere (the event stream's "incident"):
// the list shows it without a reload - its row is replaced, a new incident
// (newer than every row shown) goes on top. Elsewhere: nothing.
export function incidentListChanged(i) {
  const body = document.getElementById('incidents-body');
  if (!body) return;
  const old = body.querySelector(`tr[data-incident="${i.id}"]`);
  if (old) { old.replaceWith(incidentRow(i)); return; }
  const rows = [...body.querySelectorAll('tr[data-incident]')];
  if (rows.some((r) => Number(r.dataset.incident) > i.id)) return; // an old one, on a later page
  for (const r of body.querySelectorAll('tr:not([data-incident])')) r.remove(); // "none"
  body.insertBefore(incidentRow(i), body.firstChild);
}

// ------------------------------------------------------------- timeline --
// The actor's processes as the guard reported them: its root (the PID in
// the actor key BOOT-PID-START) with program, user and command line, and
// the other members under it. With "ppids" (each member's parent, parallel
// to "pids"; 0 when it was gone) a member goes under its parent when that
// parent is a member, else directly under the root; the actor's "parent"
// (which started it and which the guard did not stop) is drawn above the
// root. Alerts without "ppids" (older agents) give the one-level list.
function memberParents(pids, ppids, root) {
  const members = new Set(pids);
  const up = new Map();
  pids.forEach((p, i) => {
    if (p === root) return;
    const q = ppids ? ppids[i] : undefined;
    up.set(p, q !== p && members.has(q) ? q : root);
  });
  // a member whose chain of parents does not reach the root (bad data: a
  // cycle) goes under the root
  for (const p of up.keys()) {
    let q = p;
    for (let n = 0; q !== root && n <= pids.length; n++) q = up.get(q) ?? root;
    if (q !== root) up.set(p, root);
  }
  return up;
}

// Returns the tree and the note that says how to read it.
function actorTree(b, key) {
  const raw = asList(b.pids), rawPp = asList(b.ppids);
  const linked = Array.isArray(b.ppids) && rawPp.length === raw.length;
  const pairs = raw.map((p, i) => [p, rawPp[i]]).filter(([p]) => Number.isInteger(p));
  const pids = pairs.map(([p]) => p);
  const keyPid = Number(String(key || '').split('-')[1]);
  const root = Number.isInteger(keyPid) && keyPid > 0 ? keyPid : pids[0];
  const up = memberParents(pids, linked ? pairs.map(([, q]) => q) : null, root);
  const kids = new Map();
  for (const [p, q] of up) kids.set(q, [...(kids.get(q) || []), p]);
  const seen = new Set([root]);
  const sub = (p) => {
    const list = (kids.get(p) || []).filter((c) => !seen.has(c) && seen.add(c));
    return list.length ? el('ul', null, list.map((c) => el('li', { 'data-pid': c }, t('incident.pid', { pid: c }), sub(c)))) : null;
  };
  const rootItem = el('li', { 'data-pid': root, class: 'tl-root' },
    el('span', { class: 'pid' }, t('incident.pid', { pid: root ?? '?' })), ' ',
    el('code', null, b.exe || t('unknown')),
    b.user !== undefined ? [' ', el('span', { class: 'muted' }, t('incident.user', { user: b.user }))] : null,
    b.cmdline ? el('div', null, el('code', { class: 'cmdline' }, b.cmdline)) : null,
    sub(root));
  const par = b.parent && typeof b.parent === 'object' && Number.isInteger(b.parent.pid) ? b.parent : null;
  const note = (key) => el('p', { class: 'muted' }, t(key));
  if (!linked || !par) return [el('ul', { class: 'tree tl-tree', 'data-linked': linked ? 'yes' : 'no' }, rootItem), note('incident.tree.note')];
  return [el('ul', { class: 'tree tl-tree', 'data-linked': 'yes' },
    el('li', { class: 'tl-parent', 'data-parent-pid': par.pid },
      el('span', { class: 'pid' }, t('incident.pid', { pid: par.pid })), ' ',
      el('code', null, par.exe || t('unknown')), ' ',
      el('span', { class: 'muted' }, t('incident.parent')),
      el('ul', null, rootItem))), note('incident.tree.linked')];
}

function items(list, cls) {
  return list.length ? el('ul', { class: cls }, list.map((x) => el('li', null, show(x)))) : el('p', { class: `muted ${cls}` }, t('none'));
}

function alertEntry(a, b, site) {
  const guard = b && (b.actor_key || b.pids);
  return el('li', { class: 'tl tl-alert', 'data-type': 'alert', 'data-alert': a.alert_id },
    el('div', { class: 'tl-head' },
      el('time', null, fmtTime(a.time_ms)), ' ', sevBadge(a.severity), ' ',
      hostLink(a.host_id, a.hostname), ' ',
      link(`#/alert/${a.alert_id}`, alertTitle({ ...a, site }, b))),
    guard ? el('dl', { class: 'kv tl-detail' },
      el('dt', null, t('incident.actor')), el('dd', null, actorTree(b, a.actor_key || b.actor_key)),
      el('dt', null, t('alert.files')), el('dd', null, items(asList(b.files), 'tl-files')),
      el('dt', null, t('alert.indicators')), el('dd', null, items(asList(b.indicators), 'tl-indicators')),
      el('dt', null, t('alert.did')), el('dd', null, items(guardDid(b), 'tl-did'))) : null);
}

function stepEntry(s) {
  const when = el('time', null, fmtTime(s.time_ms));
  const action = s.action ? t(`cmd.${s.action}`) : '';
  if (s.type === 'command') {
    return el('li', { class: 'tl tl-command', 'data-type': 'command', 'data-command': s.command },
      when, ' ', t('incident.tl.command', { by: s.by, action }), s.arg ? [' ', el('code', null, s.arg)] : null);
  }
  if (s.type === 'command_result') {
    return el('li', { class: `tl tl-result st-${s.status}`, 'data-type': 'command_result', 'data-command': s.command },
      when, ' ', t('incident.tl.result', { action }), ' ', commandOutcome(s.action, s.status, s.message));
  }
  return el('li', { class: 'tl tl-resolved', 'data-type': 'resolved' }, when, ' ', t('incident.tl.resolved', { by: s.by }));
}

// ---------------------------------------------------------------- detail --
export async function incidentView(main, id, session, rerender) {
  const d = await get(`/api/v1/incidents/${encodeURIComponent(id)}`);
  const inc = d.incident;
  const withBody = d.timeline.filter((s) => s.type === 'alert').slice(0, BODIES);
  const bodies = new Map(await Promise.all(withBody.map(async (s) => {
    const a = await get(`/api/v1/alerts/${s.alert_id}`);
    return [s.alert_id, a.body && typeof a.body === 'object' ? a.body : null];
  })));

  const note = el('p', { class: 'muted', id: 'incident-note', role: 'status' });
  const act = async (question, done, fn) => {
    if (!(await confirmDialog(question))) return;
    try {
      await fn();
      note.textContent = done;
      rerender();
    } catch (e) { showError(e); }
  };
  const host = inc.hostname || inc.host_id;
  const cmdPath = `/api/v1/hosts/${encodeURIComponent(inc.host_id || '')}/commands`;
  const command = (body) => call('POST', cmdPath, body);
  const guardIds = [...new Set(d.alerts.map((a) => a.guard_alert_id).filter(Boolean))];
  const button = (bid, cls, label, onClick) => el('button', { type: 'button', id: bid, class: cls, on: { click: onClick } }, t(label));
  const actions = el('div', { class: 'row', id: 'incident-actions' });
  if (session.role !== 'viewer') {
    if (inc.kind === 'host' && inc.host_id) {
      append(actions,
        button('btn-inc-isolate', 'danger', 'action.isolate', () => act(t('confirm.isolate', { host }), t('done.isolate', { host }), () => command({ action: 'isolate' }))),
        button('btn-inc-release', null, 'action.release', () => act(t('confirm.release', { host }), t('done.release', { host }), () => command({ action: 'release' }))),
        inc.actor_key ? button('btn-kill', 'danger', 'action.kill', () => act(t('confirm.kill', { host, actor: inc.actor_key }), t('done.kill', { host }),
          () => command({ action: 'kill', actor: inc.actor_key }))) : null,
        guardIds.length ? button('btn-restore', 'primary', 'action.restore', () => act(t('confirm.restore', { host, n: guardIds.length }), t('done.restore', { host }),
          async () => { for (const g of guardIds) await command({ action: 'restore', alert: g }); })) : null);
    }
    if (inc.status === 'open') {
      append(actions, button('btn-resolve', null, 'action.resolve', () => act(t('confirm.resolve', { title: incidentTitle(inc) }), t('done.resolve'),
        () => call('POST', `/api/v1/incidents/${inc.id}/resolve`))));
    }
  }

  const timeline = el('ol', { class: 'timeline', id: 'timeline' },
    d.timeline.map((s) => (s.type === 'alert' ? alertEntry(s, bodies.get(s.alert_id), inc.site) : stepEntry(s))));
  const cmds = table(COMMAND_COLS, 'incident-commands');
  for (const c of d.commands) cmds.tBodies[0].appendChild(commandRow(c));
  if (!d.commands.length) cmds.tBodies[0].appendChild(el('tr', null, el('td', { colspan: 4, class: 'muted' }, t('none'))));

  // what to do next: from the first alert of the kind that opened it
  const first = d.alerts.find((x) => x.kind === inc.alert_kind) || d.alerts[0];
  const next = incidentNext(inc, first, first ? bodies.get(first.id) : null);

  put(main,
    el('h1', { id: 'incident-title' }, incidentTitle(inc)),
    el('dl', { class: 'kv', id: 'incident-facts' },
      el('dt', null, t('col.status')), el('dd', { id: 'incident-status' }, t(`incident.status.${inc.status}`),
        inc.resolved_by ? ` ${t('incident.resolved', { by: inc.resolved_by, when: fmtTime(inc.resolved_ms) })}` : ''),
      el('dt', null, t('col.severity')), el('dd', null, sevBadge(inc.severity)),
      el('dt', null, t('col.kind')), el('dd', null, t(`incident.kind.${inc.kind}`)),
      el('dt', null, t('col.site')), el('dd', null, siteLink(inc.site)),
      el('dt', null, t(inc.kind === 'host' ? 'col.host' : 'col.hosts')),
      el('dd', null, d.hosts.map((h, i) => [i ? ', ' : '', hostLink(h.id, h.hostname)])),
      inc.actor_key ? [el('dt', null, t('incident.actorkey')), el('dd', null, el('code', { id: 'incident-actor' }, inc.actor_key))] : null,
      el('dt', null, t('col.first')), el('dd', null, fmtTime(inc.first_ms)),
      el('dt', null, t('col.last')), el('dd', null, fmtTime(inc.last_ms)),
      el('dt', null, t('col.alerts')), el('dd', null, String(inc.alert_count))),
    actions, note,
    next.length ? [el('h2', null, t('alert.next')), el('ul', { id: 'incident-next' }, next.map((x) => el('li', null, x)))] : null,
    el('h2', null, t('incident.timeline')), timeline,
    d.alerts_truncated ? el('p', { class: 'muted' }, t('incident.truncated')) : null,
    el('h2', null, t('incident.commands')), cmds,
    d.commands_truncated ? el('p', { class: 'muted' }, t('incident.truncated')) : null);
  refreshWhile(inFlight(d.commands), rerender);
}
