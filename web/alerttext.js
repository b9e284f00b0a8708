// alerttext.js - what an alert and an incident say to a person, in the
// page's language: the texts come from the catalogues by alert kind (the
// kinds the server and agents make: ransomware, guard_down, host_silent,
// host_back, invalid_alert, drill), filled with the alert's own fields
// (host, site, the guard's program, user, PIDs, counts). Like the delivered
// alerts (src/deliver/alert_text.c) each kind has a title, what happened,
// what mamori already did and what to do next. A kind without texts falls
// back to the summary the server stored (English). Data enters as the API's
// alert and incident objects (and an alert's body, when read); plain
// strings leave: the caller puts them in text nodes, so a field holding
// markup stays text.
import { t } from './i18n.js';
import { asList } from './ui.js';

export const KINDS = ['ransomware', 'guard_down', 'host_silent', 'host_back', 'invalid_alert', 'drill'];
const ACTIONS = ['alert', 'freeze', 'kill'];
const CLASSES = ['encryption', 'ransom_note', 'extension_rename', 'decoy', 'lineage', 'other'];
const MAX_PIDS = 16; // PIDs named in a sentence

const known = (k) => KINDS.includes(k);
const hostOf = (a) => a.hostname || a.host_id || t('alert.server');
const actionOf = (a, b) => {
  const x = (b && b.action) || a.guard_action;
  return ACTIONS.includes(x) ? x : '';
};
const num = (v) => (Number.isFinite(Number(v)) ? Number(v) : 0);

// The kind's name ("Ransomware activity"), or the kind itself.
export function kindName(kind) {
  return known(kind) ? t(`ak.${kind}.name`) : String(kind || '');
}

// One line for lists and headings.
export function alertTitle(a, b) {
  const vars = { host: hostOf(a), site: a.site || '-', summary: a.summary || '' };
  if (a.kind === 'ransomware') {
    const act = actionOf(a, b);
    return t(act ? `ak.ransomware.title.${act}` : 'ak.ransomware.title', vars);
  }
  if (known(a.kind)) return t(`ak.${a.kind}.title`, vars);
  return a.summary || t('alert.nosummary');
}

// What the guard did, from its alert record (action alert|freeze|kill):
// sentences; none for other records.
export function guardDid(b) {
  if (!ACTIONS.includes(b.action)) return [];
  const out = [t(`ak.ransomware.did.${b.action}`, { n: asList(b.pids).length })];
  if (Number.isInteger(b.files_damaged)) out.push(t('guard.damaged', { n: b.files_damaged }));
  if (Number.isInteger(b.preimages) && b.preimages > 0) out.push(t('guard.preimages', { n: b.preimages }));
  return out;
}

function ransomware(a, b, vars) {
  const act = actionOf(a, b);
  const pids = asList(b.pids);
  const v = {
    ...vars,
    exe: b.exe || t('unknown'),
    user: b.user ?? '?',
    pids: pids.slice(0, MAX_PIDS).join(' ') || '?',
    damaged: num(b.files_damaged),
  };
  const did = guardDid(b);
  const next = [];
  if (act !== 'kill') next.push(t('ak.ransomware.next.kill', { ...v, button: t('action.kill') }));
  next.push(t('ak.ransomware.next.restore', { ...v, button: t('action.restore') }),
    t('ak.ransomware.next.isolate', { ...v, button: t('action.isolate') }));
  if (act === 'freeze') next.push(t('ak.ransomware.next.resume', v));
  return { what: [t('ak.ransomware.what', v)], did, next };
}

function guardDown(b, vars) {
  let what;
  if (b.cause === 'start_failed') {
    what = t('ak.guard_down.what.start_failed', vars);
  } else if (b.cause === 'exited') {
    const how = Number.isInteger(b.signal) ? t('ak.guard_down.how.signal', { sig: b.signal })
      : Number.isInteger(b.exit_status) ? t('ak.guard_down.how.exit', { code: b.exit_status }) : t('ak.guard_down.how.other');
    what = t(b.ready ? 'ak.guard_down.what.exited' : 'ak.guard_down.what.exited_early',
      { ...vars, pid: b.pid ?? '?', after: num(b.ran_s), how });
  } else {
    what = t('ak.guard_down.what', vars);
  }
  const did = Number.isInteger(b.retry_s) ? t('ak.guard_down.did.retry', { ...vars, retry: b.retry_s }) : t('ak.guard_down.did', vars);
  return { what: [what], did: [did], next: [t('ak.guard_down.next.log', vars), t('ak.guard_down.next.watch', vars)] };
}

// Everything the alert page shows in words: {title, what[], did[], next[]}.
// b: the alert's body (GET /api/v1/alerts/{id}), or null.
export function alertText(a, b) {
  b = b && typeof b === 'object' ? b : {};
  const vars = { host: hostOf(a), site: a.site || '-', summary: a.summary || '' };
  const title = alertTitle(a, b);
  let x;
  if (a.kind === 'ransomware') x = ransomware(a, b, vars);
  else if (a.kind === 'guard_down') x = guardDown(b, vars);
  else if (known(a.kind)) {
    x = { what: [t(`ak.${a.kind}.what`, vars)], did: [t(`ak.${a.kind}.did`, vars)], next: [t(`ak.${a.kind}.next`, vars)] };
    if (a.kind === 'host_silent') x.next.push(t('ak.host_silent.next.attack', { ...vars, button: t('action.isolate') }));
  } else {
    x = { what: [a.summary || t('alert.nosummary')], did: [t('ak.other.did', vars)], next: [t('ak.other.next', vars)] };
  }
  return { title, ...x };
}

// An outbreak's class (its key: guard:CLASS, rule:ID or kind:KIND) in words.
function classText(key) {
  const [type, ...rest] = String(key || '').split(':');
  const v = rest.join(':');
  if (type === 'guard') return t(`incident.class.${CLASSES.includes(v) ? v : 'other'}`);
  if (type === 'rule') return t('incident.class.rule', { rule: v });
  return kindName(v || type);
}

// The kind of the alert that opened a host incident (the API's alert_kind;
// older answers: read from the key).
function openerKind(inc) {
  if (inc.alert_kind) return inc.alert_kind;
  if (inc.key === 'liveness') return 'host_silent';
  return String(inc.key || '').startsWith('kind:') ? inc.key.slice(5) : '';
}

// An incident's title; the stored (English) one for kinds without texts.
export function incidentTitle(inc) {
  if (inc.kind === 'outbreak') {
    return t('incident.title.outbreak', { what: classText(inc.key), n: inc.host_count, site: inc.site || '-' });
  }
  const kind = openerKind(inc);
  if (!known(kind)) return inc.title;
  const vars = { what: kindName(kind), host: inc.hostname || inc.host_id || '', exe: inc.exe || '' };
  return t(inc.exe ? 'incident.title.host.exe' : 'incident.title.host', vars);
}

// What to do next about an incident: from its first alert of the opening
// kind (a: the timeline's alert, b: its body or null); an outbreak adds
// its own first step.
export function incidentNext(inc, a, b) {
  const next = a ? alertText({ ...a, site: inc.site }, b).next : [];
  const first = t('incident.next.outbreak', { site: inc.site || '-', button: t('action.isolate') });
  return inc.kind === 'outbreak' ? [first, ...next] : next;
}
