// i18n.js - message catalogues (/static/i18n/LANG.json) and formatting.
// Every visible string comes from a catalogue through t(); the language is
// the stored choice, else the first of navigator.languages we have, else
// English. Dates go through Intl.DateTimeFormat in that language.
const LANGS = ['en', 'ja'];
const KEY = 'mamori.lang';
let lang = 'en';
let cat = {};
let fallback = {};

function pick() {
  const saved = localStorage.getItem(KEY);
  if (LANGS.includes(saved)) return saved;
  for (const l of navigator.languages || [navigator.language || 'en']) {
    const base = String(l).toLowerCase().split('-')[0];
    if (LANGS.includes(base)) return base;
  }
  return 'en';
}

async function load(l) {
  const r = await fetch(`/static/i18n/${l}.json`, { credentials: 'same-origin' });
  if (!r.ok) throw new Error(`catalogue ${l}: ${r.status}`);
  return r.json();
}

export async function initI18n() {
  // English (the fallback) and the chosen language fetched together
  const l = pick();
  const [en, chosen] = await Promise.all([load('en'), l === 'en' ? null : load(l)]);
  fallback = en;
  cat = chosen || en;
  lang = l;
  document.documentElement.lang = l;
}

export async function setLang(l, remember = true) {
  if (!LANGS.includes(l)) l = 'en';
  cat = l === 'en' ? fallback : await load(l);
  lang = l;
  if (remember) localStorage.setItem(KEY, l);
  document.documentElement.lang = l;
}

export function getLang() {
  return lang;
}

// t('key', {n: 3}) - the message with {name} placeholders filled in one
// pass (a value holding "{x}" stays as it is).
export function t(key, vars) {
  const s = cat[key] ?? fallback[key] ?? key;
  if (!vars) return s;
  return s.replace(/\{([a-z_]+)\}/g, (m, k) => (Object.hasOwn(vars, k) ? String(vars[k]) : m));
}

// One formatter per language and style: making one costs far more than
// using it (~1 ms each, 4 ms on a phone; a page formats dozens of times).
const formats = new Map();
function dtf(style, opts) {
  const k = `${lang} ${style}`;
  if (!formats.has(k)) formats.set(k, new Intl.DateTimeFormat(lang, opts));
  return formats.get(k);
}

export function fmtTime(ms) {
  if (!ms) return t('never');
  return dtf('time', { dateStyle: 'medium', timeStyle: 'medium' }).format(new Date(ms));
}

export function fmtHour(ms) {
  return dtf('hour', { hour: '2-digit' }).format(new Date(ms));
}
