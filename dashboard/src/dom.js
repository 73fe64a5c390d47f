// DOM building that can only ever produce text from data: strings become Text nodes, never markup.
// There is no innerHTML anywhere in the dashboard (the build fails if one appears).

const SAFE_ATTR = /^(class|id|role|title|for|name|type|value|label|method|min|max|low|high|optimum|step|scope|colspan|tabindex|lang|href|download|hidden|disabled|selected|checked|placeholder|autocomplete|required|open|(aria|data)-[a-z-]+)$/;

/** h("p", {class: "x"}, "text", child, [more]) → element; attributes and children are text-safe. */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") { el.addEventListener(k.slice(2), v); continue; }
    if (!SAFE_ATTR.test(k)) throw new Error(`attribute ${k} not allowed`);
    if (k === "href" && !/^(\/|#|\?|blob:)/.test(String(v))) throw new Error("only local links");
    el.setAttribute(k, v === true ? "" : String(v));
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

export function replace(el, ...children) {
  clear(el);
  return append(el, children);
}
