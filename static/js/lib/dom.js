// Small DOM helpers shared by every page module.
export const $ = (id) => document.getElementById(id);

/** A new element with an optional class and text (always textContent: nothing typed becomes markup). */
export function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

/** The parsed contents of a json_script block, or `fallback`. */
export function jsonData(id, fallback = null) {
  const node = document.getElementById(id);
  if (!node) return fallback;
  try { return JSON.parse(node.textContent); } catch { return fallback; }
}

/** Load a classic (non-module) script once, e.g. a library that only ships a UMD build. */
const loading = new Map();
export function loadScript(src) {
  if (!loading.has(src)) {
    loading.set(src, new Promise((resolve, reject) => {
      const script = document.createElement('script');
      script.src = src;
      script.async = true;
      script.addEventListener('load', () => resolve());
      script.addEventListener('error', () => { loading.delete(src); reject(new Error(`could not load ${src}`)); });
      document.head.append(script);
    }));
  }
  return loading.get(src);
}

/** Where our static files live (the URL of this module, two folders up: /static/js/lib/ → /static/). */
export const STATIC_ROOT = new URL('../../', import.meta.url).href;
export const staticUrl = (path) => new URL(path, STATIC_ROOT).href;

/**
 * The URL of a library the page names with data-<key>-lib="{% static … %}" (so a hashed file name
 * from the static manifest is used), else its plain static path.
 */
export function libraryUrl(key, path) {
  const attr = `data-${key}-lib`;
  return document.querySelector(`[${attr}]`)?.getAttribute(attr) || staticUrl(path);
}
