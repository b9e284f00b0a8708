// routes.js - alert routing (#/routes): the routes that deliver alerts to
// webhooks, Slack, Teams, syslog and e-mail, in the caller's scope; admins
// and site admins add one, send a test message over one and remove one
// (behind a confirmation) - a site admin only its own site's, never an
// all-sites route; viewers only read. Data: GET/POST /api/v1/routes,
// DELETE /api/v1/routes/{id}, POST and GET /api/v1/routes/{id}/test (the
// server sends the test in the background; the page asks for the outcome
// every POLL_MS, at most TEST_WAIT_MS). The server audits every change and
// test.
import { el, put, append } from './dom.js';
import { t, fmtTime } from './i18n.js';
import { get, call, ApiError } from './api.js';
import { SEVS, sevBadge, td, table, showError, confirmDialog } from './ui.js';

const KINDS = ['webhook', 'slack', 'teams', 'syslog', 'email'];
const POLL_MS = 400;
const TEST_WAIT_MS = 25000; // the server gives up on a receiver after 15 s

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function testRoute(r, out) {
  out.textContent = t('routes.test.sending');
  out.dataset.status = 'sending';
  await call('POST', `/api/v1/routes/${r.id}/test`);
  const end = Date.now() + TEST_WAIT_MS;
  for (;;) {
    await sleep(POLL_MS);
    const s = await get(`/api/v1/routes/${r.id}/test`);
    if (s.status !== 'sending' || Date.now() > end) {
      out.dataset.status = s.status;
      out.textContent = s.status === 'delivered' ? t('routes.test.delivered')
        : s.status === 'failed' ? t('routes.test.failed', { why: s.message || '' }) : t('routes.test.sending');
      return;
    }
  }
}

export async function routesView(main, session, rerender) {
  const routes = (await get('/api/v1/routes')).items;
  const canWrite = session.role !== 'viewer';
  // a site admin acts on its own site's routes only; all-sites ones are head office's
  const mine = (r) => canWrite && (r.site ? !session.site || r.site === session.site : !session.site);
  const list = table(['col.id', 'col.site', 'col.kind', 'col.target', 'routes.min', 'col.created', 'col.by', 'col.actions'], 'routes-body');
  for (const r of routes) {
    const out = el('span', { class: 'route-result', id: `route-result-${r.id}`, role: 'status' });
    const test = el('button', { type: 'button', class: 'route-test' }, t('routes.test'));
    test.addEventListener('click', async () => {
      test.disabled = true;
      try { await testRoute(r, out); } catch (e) {
        out.dataset.status = 'error';
        out.textContent = e instanceof ApiError && e.status === 409 ? t('routes.test.busy') : t('routes.test.failed', { why: e.message });
      }
      test.disabled = false;
    });
    const rm = el('button', { type: 'button', class: 'danger route-rm' }, t('routes.remove'));
    rm.addEventListener('click', async () => {
      if (!(await confirmDialog(t('confirm.route_rm', { kind: r.kind, target: r.target })))) return;
      try { await call('DELETE', `/api/v1/routes/${r.id}`); rerender(); } catch (e) { showError(e); }
    });
    list.tBodies[0].appendChild(el('tr', { 'data-route': r.id },
      td('col.id', String(r.id)),
      td('col.site', r.site || t('allsites')),
      td('col.kind', r.kind),
      td('col.target', el('code', null, r.target), r.to ? [' ', el('span', { class: 'muted' }, r.to)] : null),
      td('routes.min', sevBadge(r.min_severity)),
      td('col.created', fmtTime(Date.parse(r.created))),
      td('col.by', r.created_by),
      td('col.actions', mine(r) ? el('div', { class: 'row' }, test, rm, out) : null)));
  }
  if (!routes.length) list.tBodies[0].appendChild(el('tr', null, el('td', { colspan: 8, class: 'muted' }, t('routes.none'))));
  put(main, el('h1', null, t('routes.title')), el('p', { class: 'muted' }, t('routes.help')), list);
  if (!canWrite) { append(main, el('p', { class: 'muted' }, t('routes.viewer'))); return; }

  const sites = (await get('/api/v1/sites?limit=500')).items;
  const site = el('select', { id: 'route-site' },
    session.site ? el('option', { value: session.site }, session.site)
      : [el('option', { value: '' }, t('allsites')), sites.map((s) => el('option', { value: s.name }, s.name))]);
  const kind = el('select', { id: 'route-kind' }, KINDS.map((k) => el('option', { value: k }, t(`routes.kind.${k}`))));
  const target = el('input', { id: 'route-target', required: true, size: 40, placeholder: t('routes.target.hint') });
  const min = el('select', { id: 'route-min' }, [...SEVS].reverse().map((s) => el('option', { value: s }, t(`sev.${s}`))));
  const from = el('input', { id: 'route-from', type: 'email' });
  const to = el('input', { id: 'route-to' });
  const err = el('p', { class: 'error', id: 'route-error', role: 'alert' });
  const label = (input, key) => [el('label', { for: input.id }, t(key)), input];
  const form = el('form', { class: 'card', id: 'route-form' },
    el('h2', null, t('routes.add')),
    el('div', { class: 'row' }, label(site, 'col.site'), label(kind, 'col.kind'), label(target, 'col.target'), label(min, 'routes.min')),
    el('div', { class: 'row' }, label(from, 'routes.from'), label(to, 'routes.to'),
      el('button', { type: 'submit', class: 'primary' }, t('routes.add.submit'))),
    err);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    err.textContent = '';
    const body = { kind: kind.value, target: target.value, min_severity: min.value };
    if (site.value) body.site = site.value;
    if (from.value) body.from = from.value;
    if (to.value) body.to = to.value;
    try {
      await call('POST', '/api/v1/routes', body);
      rerender();
    } catch (e) {
      if (e instanceof ApiError && e.status === 400) err.textContent = t('routes.bad', { why: e.message });
      else showError(e);
    }
  });
  append(main, form);
}
