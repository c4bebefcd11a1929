// Numbers and dates as analysts read them.
const integer = new Intl.NumberFormat('en', { maximumFractionDigits: 0 });
const decimal = new Intl.NumberFormat('en', { maximumFractionDigits: 2 });
const money = new Intl.NumberFormat('en', { maximumFractionDigits: 0 });
const percent = new Intl.NumberFormat('en', { style: 'percent', maximumFractionDigits: 1 });

/** 12,345 */
export const count = (n) => (n == null ? '–' : integer.format(n));
/** 1.25 */
export const number = (n) => (n == null ? '–' : decimal.format(n));
/** 1,234 (currency-free: interactions carry their own currencies) */
export const amount = (n) => (n == null ? '–' : money.format(n));
/** 12.5 % */
export const share = (n) => (n == null ? '–' : percent.format(n));

/** 2026-12-02 07:45 in the reader's time zone. */
export function dateTime(value) {
  if (!value) return '–';
  const date = new Date(value);
  const pad = (n) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** 2026-12-02 */
export const day = (value) => (value ? dateTime(value).slice(0, 10) : '–');

/** 850 ms, 12.4 s, 3 min 5 s */
export function duration(ms) {
  if (ms == null) return '–';
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

/** A customer's name, or their external id. */
export function customerName(customer) {
  if (!customer) return '(deleted)';
  const name = [customer.firstName, customer.lastName].filter(Boolean).join(' ');
  return name || customer.externalId;
}
