// Form fields generated from a strategy's parameter JSON Schema. Simple values get an input
// of their kind; lists of simple values are typed comma-separated; anything nested is edited
// as JSON. Each field checks what it can before sending, and errors the server reports for a
// parameter are shown next to that parameter.
import { html } from './html.js';

/**
 * A property's schema in the simplest form the form knows: a choice of constants (`oneOf` or
 * `anyOf` of `const`, as schemas derived from Rust enums give it) becomes an `enum`, and an
 * optional value (`anyOf` of a schema and `null`) becomes that schema.
 */
export function simplify(schema = {}) {
  const alternatives = schema.oneOf ?? schema.anyOf;
  if (!Array.isArray(alternatives)) return schema;
  const { oneOf, anyOf, ...rest } = schema;
  const real = alternatives.filter((alternative) => alternative.type !== 'null');
  if (real.length > 0 && real.every((alternative) => 'const' in alternative)) {
    return { ...rest, enum: real.map((alternative) => alternative.const) };
  }
  if (real.length === 1) return simplify({ ...real[0], ...rest, description: rest.description ?? real[0].description });
  return schema;
}

/** The type of a schema, leaving out `null` (`["integer", "null"]` is an optional integer). */
function baseType(schema) {
  return Array.isArray(schema.type) ? schema.type.find((t) => t !== 'null') : schema.type;
}

/** What kind of input a property gets. */
export function fieldKind(given = {}) {
  const schema = simplify(given);
  if (Array.isArray(schema.enum)) return 'enum';
  const type = baseType(schema);
  if (type === 'boolean') return 'boolean';
  if (type === 'integer' || type === 'number') return 'number';
  if (type === 'string') return 'string';
  if (type === 'array' && schema.items && typeof schema.items === 'object' && !Array.isArray(schema.items)) {
    const item = fieldKind(schema.items);
    if (item === 'number' || item === 'string' || item === 'enum') return 'list';
  }
  return 'json';
}

/** A value as the text its field would hold (shown as the field's placeholder for defaults). */
export function initialText(schema, value) {
  if (value === undefined) return '';
  switch (fieldKind(schema)) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'list':
      return Array.isArray(value) ? value.join(', ') : '';
    case 'json':
      return JSON.stringify(value, null, 2);
    default:
      return String(value);
  }
}

function checkNumber(given, n) {
  const schema = simplify(given);
  if (!Number.isFinite(n)) return 'must be a number';
  if (fieldKind(schema) === 'number' && baseType(schema) === 'integer' && !Number.isInteger(n)) return 'must be a whole number';
  if (schema.minimum != null && n < schema.minimum) return `must be at least ${schema.minimum}`;
  if (schema.maximum != null && n > schema.maximum) return `must be at most ${schema.maximum}`;
  if (schema.exclusiveMinimum != null && n <= schema.exclusiveMinimum) return `must be more than ${schema.exclusiveMinimum}`;
  if (schema.exclusiveMaximum != null && n >= schema.exclusiveMaximum) return `must be less than ${schema.exclusiveMaximum}`;
  return null;
}

function parseItem(given, text) {
  const schema = simplify(given);
  const kind = fieldKind(schema);
  if (kind === 'number') {
    const n = Number(text);
    const problem = checkNumber(schema, n);
    if (problem) throw new Error(`“${text}” ${problem}`);
    return n;
  }
  if (kind === 'enum') {
    const found = schema.enum.find((option) => String(option) === text);
    if (found === undefined) throw new Error(`“${text}” must be one of ${schema.enum.join(', ')}`);
    return found;
  }
  return text;
}

/**
 * The value of a field's text: `undefined` when left empty (the strategy's default applies).
 * Throws an Error whose message says what is wrong.
 */
export function parseField(given, text) {
  const schema = simplify(given);
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  switch (fieldKind(schema)) {
    case 'enum':
      return parseItem(schema, trimmed);
    case 'boolean':
      return trimmed === 'true';
    case 'number': {
      const n = Number(trimmed);
      const problem = checkNumber(schema, n);
      if (problem) throw new Error(problem);
      return n;
    }
    case 'string':
      if (schema.minLength != null && trimmed.length < schema.minLength) throw new Error(`must have at least ${schema.minLength} characters`);
      return trimmed;
    case 'list': {
      const items = trimmed.split(',').map((item) => item.trim()).filter(Boolean).map((item) => parseItem(schema.items, item));
      if (schema.minItems != null && items.length < schema.minItems) throw new Error(`needs at least ${schema.minItems} items`);
      return items;
    }
    default:
      try {
        return JSON.parse(trimmed);
      } catch (error) {
        throw new Error(`is not valid JSON: ${error.message}`);
      }
  }
}

/** The parameters as an object, or the errors by property name. */
export function collectParams(schema, texts) {
  const params = {};
  const errors = {};
  const properties = schema?.properties ?? {};
  for (const [name, property] of Object.entries(properties)) {
    try {
      const value = parseField(property, texts[name] ?? '');
      if (value !== undefined) params[name] = value;
      else if (schema.required?.includes(name)) errors[name] = 'is required';
    } catch (error) {
      errors[name] = error.message;
    }
  }
  return { params, errors };
}

function Input({ id, name, schema: given, text, fallback, onInput, describedBy }) {
  const schema = simplify(given);
  const kind = fieldKind(schema);
  const common = {
    id,
    name,
    'aria-describedby': describedBy || undefined,
    'aria-invalid': describedBy.includes('error') ? 'true' : undefined,
    onInput: (e) => onInput(e.target.value),
    onChange: (e) => onInput(e.target.value),
  };
  const unset = fallback === undefined ? "(strategy's default)" : `(default: ${initialText(schema, fallback)})`;
  if (kind === 'enum')
    return html`<select ...${common} value=${text}>
      <option value="">${unset}</option>
      ${schema.enum.map((option) => html`<option value=${String(option)}>${String(option)}</option>`)}
    </select>`;
  if (kind === 'boolean')
    return html`<select ...${common} value=${text}>
      <option value="">${unset}</option><option value="true">yes</option><option value="false">no</option>
    </select>`;
  if (kind === 'json')
    return html`<textarea ...${common} rows="4" spellcheck="false" value=${text}
      placeholder=${fallback === undefined ? '' : initialText(schema, fallback)}></textarea>`;
  const type = kind === 'number' ? 'number' : 'text';
  const step = baseType(schema) === 'integer' ? '1' : 'any';
  return html`<input ...${common} type=${type} step=${kind === 'number' ? step : undefined} min=${schema.minimum}
    max=${schema.maximum} value=${text} placeholder=${fallback === undefined ? '' : initialText(schema, fallback)} />`;
}

/**
 * One field per schema property, each with its description and its error. Fields start empty:
 * what is left empty takes the default (`defaults`, from the settings, else the schema's),
 * shown as the placeholder.
 */
export function SchemaFields({ schema, texts, errors, onChange, defaults = {}, prefix = 'param' }) {
  const properties = Object.entries(schema?.properties ?? {});
  if (!properties.length) return html`<p class="meta">This strategy takes no parameters.</p>`;
  return properties.map(([name, property]) => {
    const id = `${prefix}-${name}`;
    const kind = fieldKind(property);
    const hints = [
      property.description,
      kind === 'list' && 'Separate values with commas.',
      kind === 'json' && 'JSON.',
      kind === 'json' && (defaults[name] ?? property.default) !== undefined && `Default: ${JSON.stringify(defaults[name] ?? property.default)}.`,
    ].filter(Boolean);
    const error = errors[name];
    const describedBy = [hints.length && `${id}-hint`, error && `${id}-error`].filter(Boolean).join(' ');
    return html`<div class=${`field${error ? ' invalid' : ''}`} data-field=${name}>
      <label for=${id}>${name.replaceAll('_', ' ')}${schema.required?.includes(name) ? ' *' : ''}</label>
      <${Input} id=${id} name=${name} schema=${property} text=${texts[name] ?? ''} describedBy=${describedBy}
        fallback=${defaults[name] ?? property.default}
        onInput=${(value) => onChange(name, value)} />
      ${hints.length > 0 && html`<p class="hint" id=${`${id}-hint`}>${hints.join(' ')}</p>`}
      ${error && html`<p class="field-error" id=${`${id}-error`} role="alert">${error}</p>`}
    </div>`;
  });
}
