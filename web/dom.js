// dom.js - building the page with DOM APIs only. Text always goes in as a
// text node (never parsed as markup), so a hostname, summary or file name
// holding "<img onerror=...>" stays inert text. No innerHTML anywhere.
const SVG = 'http://www.w3.org/2000/svg';

// el('tag', {attr: value, class: 'x', on: {click: fn}}, child...) - a child
// is a node, a string (inserted as text), null/false (skipped) or an array.
export function el(tag, attrs, ...kids) {
  const n = document.createElement(tag);
  return fill(n, attrs, kids);
}

export function svg(tag, attrs, ...kids) {
  const n = document.createElementNS(SVG, tag);
  return fill(n, attrs, kids);
}

function fill(n, attrs, kids) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'on') {
      for (const [ev, fn] of Object.entries(v)) n.addEventListener(ev, fn);
    } else if (k.startsWith('on')) {
      throw new Error('event handlers go in on: {}');
    } else {
      n.setAttribute(k, String(v));
    }
  }
  add(n, kids);
  return n;
}

function add(n, kids) {
  for (const k of kids) {
    if (k === null || k === undefined || k === false) continue;
    if (Array.isArray(k)) add(n, k);
    else if (k instanceof Node) n.appendChild(k);
    else n.appendChild(document.createTextNode(String(k)));
  }
}

export function clear(n) {
  while (n.firstChild) n.removeChild(n.firstChild);
  return n;
}

// Replace n's children with kids (same rules as el's children).
export function put(n, ...kids) {
  clear(n);
  add(n, kids);
  return n;
}

// Append kids to n (same rules as el's children: null and false are skipped).
export function append(n, ...kids) {
  add(n, kids);
  return n;
}
