// check_i18n.mjs - the console's message catalogues and page scripts:
//  1. web/i18n/en.json and ja.json have the same keys, none empty, and a
//     key's {placeholders} are the same in both;
//  2. every t('key') in web/*.js exists, every t(`prefix.${x}`) has keys;
//  3. no page text is hard-coded: a string literal in web/*.js that reads
//     like words (two words, or any non-ASCII letter) is refused unless it
//     is a t() key or a thrown developer error;
//  4. no markup sinks: innerHTML, outerHTML, insertAdjacentHTML,
//     document.write, eval, new Function.
// Usage: node check_i18n.mjs WEB_DIR  (prints PASS/FAIL lines; exit 1 on FAIL)
//        node check_i18n.mjs --self-test  (the checks catch planted faults)
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

function literals(src) {
  const out = [];
  const re = /(['"`])((?:\\.|(?!\1)[^\\])*)\1/gs;
  let m;
  while ((m = re.exec(src))) out.push({ q: m[1], s: m[2], at: m.index });
  return out;
}

function lineOf(src, at) {
  return src.slice(0, at).split('\n').length;
}

export function check(files, en, ja) {
  const errs = [];
  const ek = Object.keys(en), jk = Object.keys(ja);
  for (const k of ek) if (!(k in ja)) errs.push(`ja.json lacks ${k}`);
  for (const k of jk) if (!(k in en)) errs.push(`en.json lacks ${k}`);
  for (const [n, c] of [['en', en], ['ja', ja]]) for (const [k, v] of Object.entries(c)) if (typeof v !== 'string' || !v.trim()) errs.push(`${n}.json: ${k} is empty`);
  const holes = (v) => [...new Set(String(v).match(/\{[a-z_]+\}/g) || [])].sort().join(' ');
  for (const k of ek) if (k in ja && holes(en[k]) !== holes(ja[k])) errs.push(`${k}: en has {${holes(en[k])}}, ja {${holes(ja[k])}}`);
  for (const [name, raw] of Object.entries(files)) {
    // comments are not page text: whole-line // comments and trailing " // ..."
    const src = raw.split('\n').map((ln) => (/^\s*\/\//.test(ln) ? '' : ln.replace(/\s\/\/\s.*$/, ''))).join('\n');
    for (const m of src.matchAll(/\bt\(\s*'([^']+)'/g)) if (!(m[1] in en)) errs.push(`${name}: t('${m[1]}') is not in en.json`);
    for (const m of src.matchAll(/\bt\(\s*`([^`$]+)\$\{/g)) if (!ek.some((k) => k.startsWith(m[1]))) errs.push(`${name}: no key starts with ${m[1]}`);
    for (const bad of ['innerHTML', 'outerHTML', 'insertAdjacentHTML', 'document.write', 'eval(', 'new Function']) {
      if (src.includes(bad)) errs.push(`${name}: uses ${bad}`);
    }
    for (const l of literals(src)) {
      const before = src.slice(Math.max(0, l.at - 12), l.at);
      if (/\bt\(\s*$/.test(before) || /new Error\(\s*$/.test(before) || /class:\s*$/.test(before)) continue;
      const text = l.s.replace(/\$\{[^}]*\}/g, ' ');
      if (/[A-Za-z]{2,}[,.:;!?]?\s+[A-Za-z]{2,}/.test(text) || /[^\x00-\x7f]/.test(text)) {
        errs.push(`${name}:${lineOf(src, l.at)}: hard-coded text ${l.q}${l.s}${l.q}`);
      }
    }
  }
  return errs;
}

function load(dir) {
  const files = {};
  for (const f of readdirSync(dir)) if (f.endsWith('.js')) files[f] = readFileSync(join(dir, f), 'utf8');
  const en = JSON.parse(readFileSync(join(dir, 'i18n/en.json'), 'utf8'));
  const ja = JSON.parse(readFileSync(join(dir, 'i18n/ja.json'), 'utf8'));
  return { files, en, ja };
}

const arg = process.argv[2];
let failed = 0;
const report = (name, errs) => {
  if (errs.length) { failed++; console.log(`FAIL ${name}: ${errs.slice(0, 8).join('; ')}`); } else console.log(`PASS ${name}`);
};
if (arg === '--self-test') {
  const en = { 'a.b': 'x', 'c': 'y', 'd': 'on {host}' }, ja = { 'a.b': 'ｘ', 'd': '{site} で' };
  const planted = {
    'x.js': "el('p', null, 'Isolate this host now');\nn.innerHTML = s;\nt('nope');\nel('b', null, 'ホスト');",
  };
  const errs = check(planted, en, ja);
  const want = ['ja.json lacks c', 'uses innerHTML', "t('nope')", "'Isolate this host now'", "'ホスト'", 'd: en has {{host}}'];
  report('i18n-checker-catches-faults', want.filter((w) => !errs.some((e) => e.includes(w))).map((w) => `missed ${w}`));
} else {
  const { files, en, ja } = load(arg || 'web');
  report('console-i18n-catalogues-and-no-hardcoded-text', check(files, en, ja));
}
process.exit(failed ? 1 : 0);
