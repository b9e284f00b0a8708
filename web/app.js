// app.js - the console's entry: session, hash routes, navigation, language
// switch, live alerts and incidents (server-sent events) and error display.
//   #/            overview        #/site/NAME   a site's hosts and alerts
//   #/host/ID     a host          #/alert/ID    one alert
//   #/incidents   incidents       #/incident/ID an incident: timeline, responses
//   #/routes      alert routing   #/tokens      enrollment tokens
import { el, clear, put, append } from './dom.js';
import { initI18n, setLang, getLang, t } from './i18n.js';
import { get, call, setCsrf, liveEvents, ApiError } from './api.js';
import { onError } from './ui.js';
import { alertTitle } from './alerttext.js';
import * as v from './views.js';
import { incidentsView, incidentView, incidentListChanged } from './incident.js';
import { routesView } from './routes.js';

const main = document.getElementById('main');
const REDRAW_MS = 300; // an incident page changed elsewhere is drawn again after this (events coalesce)
const live = document.getElementById('live');
let session = null;
let closeLive = null;
let lastAlert = null; // the newest alert of the event stream, named at the top

function showError(e) {
  if (e instanceof ApiError && e.status === 401) { loggedOut(); return; }
  const msg = e instanceof ApiError && e.status === 404 ? t('error.notfound')
    : e instanceof ApiError && e.status === 403 ? t('error.forbidden') : t('error.generic');
  put(main, el('h1', { id: 'error' }, msg), el('p', null, el('a', { href: '#/' }, t('nav.overview'))));
}
onError(showError);

function chrome() {
  const nav = clear(document.getElementById('nav'));
  const logout = document.getElementById('logout');
  document.title = t('title');
  document.getElementById('brand').textContent = t('brand');
  document.getElementById('lang').setAttribute('aria-label', t('lang.label'));
  live.textContent = session && lastAlert ? t('live.new', { title: alertTitle(lastAlert) }) : '';
  if (!session) {
    logout.hidden = true;
    clear(document.getElementById('who'));
    return;
  }
  append(nav, el('a', { href: '#/' }, t('nav.overview')), el('a', { href: '#/incidents' }, t('nav.incidents')),
    el('a', { href: '#/routes' }, t('nav.routes')), el('a', { href: '#/tokens' }, t('nav.tokens')));
  document.getElementById('who').textContent = t('who', {
    name: session.name, role: t(`role.${session.role}`), site: session.site || t('allsites'),
  });
  logout.textContent = t('logout');
  logout.hidden = false;
}

function route() {
  const [, page, arg] = (location.hash || '#/').match(/^#\/([a-z]*)\/?(.*)$/) || [];
  return [page, decodeURIComponent(arg || '')];
}

async function render() {
  chrome();
  if (!session) { v.loginView(main, loggedIn); return; }
  const [page, a] = route();
  try {
    if (!page) await v.overviewView(main);
    else if (page === 'site') await v.siteView(main, a);
    else if (page === 'host') await v.hostView(main, a, session, render);
    else if (page === 'alert') await v.alertView(main, a);
    else if (page === 'incidents') await incidentsView(main);
    else if (page === 'incident') await incidentView(main, a, session, render);
    else if (page === 'routes') await routesView(main, session, render);
    else if (page === 'tokens') await v.tokensView(main, session);
    else throw new ApiError(404, 'not_found', '');
  } catch (e) { showError(e); }
}

// An incident opened or changed (an alert joined, someone resolved it): the
// incidents list updates its row; the page of that incident is drawn again.
let redraw = null;
function incidentChanged(i) {
  const [page, arg] = route();
  if (page === 'incidents') incidentListChanged(i);
  if (page !== 'incident' || arg !== String(i.id) || redraw) return;
  const at = location.hash;
  redraw = setTimeout(() => {
    redraw = null;
    if (location.hash === at && session) render();
  }, REDRAW_MS);
}

function startLive() {
  if (closeLive) closeLive();
  closeLive = liveEvents({
    alert: (a) => {
      lastAlert = a;
      live.textContent = t('live.new', { title: alertTitle(a) });
      const body = document.getElementById('alerts-body');
      const onOverview = !location.hash || location.hash === '#/';
      if (body && onOverview) body.insertBefore(v.alertRow(a), body.firstChild);
    },
    incident: incidentChanged,
  });
}

function loggedIn(s) {
  session = s;
  setCsrf(s.csrf_token);
  startLive();
  render();
}

function loggedOut() {
  session = null;
  setCsrf('');
  if (closeLive) { closeLive(); closeLive = null; }
  lastAlert = null;
  live.textContent = '';
  render();
}

async function boot() {
  // the session is asked for while the catalogues load (one round trip less)
  const session0 = get('/api/v1/session').catch(() => null);
  await initI18n();
  const sel = document.getElementById('lang');
  sel.value = getLang();
  sel.addEventListener('change', async () => { await setLang(sel.value); render(); });
  document.getElementById('logout').addEventListener('click', async () => {
    try { await call('DELETE', '/api/v1/session'); } catch { /* gone already */ }
    loggedOut();
  });
  window.addEventListener('hashchange', render);
  const s = await session0; /* null: not logged in */
  if (s && s.kind === 'user') { loggedIn(s); return; }
  loggedOut();
}

boot();
