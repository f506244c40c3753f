// Translations and number formats for the page's language (<html lang>). The strings come from
// Django's JavaScript catalogue (/jsi18n/<lang>.js, loaded by base.html before any module), which
// defines window.gettext & co.; without it (a page that does not load it) the English text stays.
// Mark every user-facing string with these names so `makemessages -d djangojs` finds them:
//   gettext('Saved'), ngettext('%s seat', '%s seats', n), interpolate(gettext('%(n)s left'), { n }, true)
const g = globalThis;

export function gettext(text) {
  return typeof g.gettext === 'function' ? g.gettext(text) : text;
}

export function ngettext(singular, plural, count) {
  if (typeof g.ngettext === 'function') return g.ngettext(singular, plural, count);
  return count === 1 ? singular : plural;
}

export function pgettext(context, text) {
  return typeof g.pgettext === 'function' ? g.pgettext(context, text) : text;
}

/** interpolate('%s of %s', [a, b]) or interpolate('%(n)s left', { n }, true), like Django's. */
export function interpolate(format, values, named = false) {
  if (typeof g.interpolate === 'function') return g.interpolate(format, values, named);
  if (named) return format.replace(/%\(\w+\)s/g, (m) => String(values[m.slice(2, -2)]));
  let i = 0;
  return format.replace(/%s/g, () => String(values[i++]));
}

/** The page's language, e.g. "de". */
export const LANG = (typeof document !== 'undefined' && document.documentElement.lang) || 'en';

const formatters = new Map();
/** A number for people in the page's language: 1234.5 → "1,234.5" (English), "1.234,5" (German). */
export function formatNumber(value, options = {}) {
  const key = JSON.stringify(options);
  if (!formatters.has(key)) formatters.set(key, new Intl.NumberFormat(LANG, options));
  return formatters.get(key).format(value);
}

/** Money like the server writes it: formatMoney(12.5, 'EUR') → "€12.50" / "12,50 €". */
export function formatMoney(value, currency) {
  try {
    return formatNumber(Number(value), { style: 'currency', currency });
  } catch {
    return `${formatNumber(Number(value), { minimumFractionDigits: 2, maximumFractionDigits: 2 })} ${currency}`;
  }
}
