// api.js - the console's calls to /api/v1 with the session cookie. Every
// non-GET request carries X-CSRF-Token (the session's token, from the login
// answer or GET /api/v1/session); the server also checks Origin.
let csrf = '';

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export function setCsrf(token) {
  csrf = token || '';
}

export async function call(method, path, body) {
  const headers = {};
  if (method !== 'GET') headers['X-CSRF-Token'] = csrf;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const r = await fetch(path, {
    method, headers, credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (r.status === 204) return null;
  let j = null;
  try { j = await r.json(); } catch { j = null; }
  if (!r.ok) {
    const e = (j && j.error) || {};
    throw new ApiError(r.status, e.code || 'http', e.message || String(r.status));
  }
  return j;
}

export const get = (path) => call('GET', path);

// The query string of an object, skipping empty values.
export function qs(o) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(o)) if (v !== undefined && v !== null && v !== '') p.set(k, v);
  const s = p.toString();
  return s ? `?${s}` : '';
}

// The event stream: new alerts as they are stored (on.alert(alert)) and
// incidents as they are opened or change (on.incident(incident): an alert
// joined, someone resolved it). The browser reconnects by itself
// (Last-Event-ID); returns a function that closes it.
export function liveEvents(on) {
  const es = new EventSource('/api/v1/events/stream', { withCredentials: true });
  for (const [name, fn] of Object.entries(on)) {
    es.addEventListener(name, (ev) => {
      let v;
      try { v = JSON.parse(ev.data); } catch { return; } // a broken line is skipped
      fn(v);
    });
  }
  return () => es.close();
}
