// Unit tests of the form generated from a parameter schema (node --test, no browser).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { collectParams, fieldKind, initialText, parseField, simplify } from '../src/schema-form.js';

const schema = {
  type: 'object',
  required: ['label'],
  properties: {
    method: { enum: ['rfm', 'value'] },
    window_days: { type: 'integer', minimum: 1 },
    share: { type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 1 },
    label: { type: 'string', minLength: 1 },
    multi: { type: 'boolean' },
    edges: { type: 'array', items: { type: 'number' }, minItems: 1 },
    rules: { type: 'array', items: { type: 'object' } },
  },
};
const p = schema.properties;

test('each property gets the input of its kind', () => {
  assert.equal(fieldKind(p.method), 'enum');
  assert.equal(fieldKind(p.window_days), 'number');
  assert.equal(fieldKind(p.label), 'string');
  assert.equal(fieldKind(p.multi), 'boolean');
  assert.equal(fieldKind(p.edges), 'list');
  assert.equal(fieldKind(p.rules), 'json');
  assert.equal(fieldKind({ oneOf: [] }), 'json');
});

test('values parse by kind and are checked against the schema', () => {
  assert.equal(parseField(p.window_days, ' 30 '), 30);
  assert.throws(() => parseField(p.window_days, '0'), /at least 1/);
  assert.throws(() => parseField(p.window_days, '2.5'), /whole number/);
  assert.throws(() => parseField(p.share, '1'), /less than 1/);
  assert.throws(() => parseField(p.method, 'clv'), /one of rfm, value/);
  assert.deepEqual(parseField(p.edges, '18, 25,35'), [18, 25, 35]);
  assert.throws(() => parseField(p.edges, '18, x'), /“x” must be a number/);
  assert.deepEqual(parseField(p.rules, '[{"label":"a"}]'), [{ label: 'a' }]);
  assert.throws(() => parseField(p.rules, '[{'), /not valid JSON/);
  assert.equal(parseField(p.multi, 'false'), false);
  assert.equal(parseField(p.window_days, '   '), undefined, 'empty means the default');
});

test('the form sends what was typed and reports every bad field by name', () => {
  const { params, errors } = collectParams(schema, { method: 'rfm', window_days: '0', share: 'x', edges: '' });
  assert.deepEqual(params, { method: 'rfm' });
  assert.deepEqual(Object.keys(errors).sort(), ['label', 'share', 'window_days']);
  assert.equal(errors.label, 'is required');
  const ok = collectParams(schema, { label: 'vip', multi: 'true', edges: '1,2' });
  assert.deepEqual(ok, { params: { label: 'vip', multi: true, edges: [1, 2] }, errors: {} });
});

test('defaults are shown as the text their field would hold', () => {
  assert.equal(initialText(p.edges, [18, 25]), '18, 25');
  assert.equal(initialText(p.multi, false), 'false');
  assert.equal(initialText(p.rules, []), '[]');
  assert.equal(initialText(p.label, undefined), '');
});

// What schemars derives from Rust types: documented enum variants, optional values.
test('choices of constants and optional values get simple fields', () => {
  const method = {
    description: 'The method.',
    oneOf: [
      { const: 'bands', type: 'string', description: 'Bands.' },
      { const: 'rules', type: 'string', description: 'Rules.' },
    ],
  };
  assert.equal(fieldKind(method), 'enum');
  assert.deepEqual(simplify(method).enum, ['bands', 'rules']);
  assert.equal(parseField(method, 'rules'), 'rules');
  assert.throws(() => parseField(method, 'clv'), /one of bands, rules/);
  const days = { type: ['integer', 'null'], minimum: 1 };
  assert.equal(fieldKind(days), 'number');
  assert.throws(() => parseField(days, '2.5'), /whole number/);
  const score = { anyOf: [{ enum: ['a', 'b'], type: 'string' }, { type: 'null' }], description: 'Score.' };
  assert.equal(fieldKind(score), 'enum');
  assert.equal(simplify(score).description, 'Score.');
  const nested = { anyOf: [{ oneOf: [{ const: 'x' }, { const: 'y' }] }, { type: 'null' }] };
  assert.deepEqual(simplify(nested).enum, ['x', 'y'], 'an optional choice of constants');
  const dimensions = { type: 'array', items: { anyOf: [{ enum: ['age'] }, { type: 'object' }] } };
  assert.equal(fieldKind(dimensions), 'json', 'a list of things that may be objects is JSON');
  const { params, errors } = collectParams(
    { type: 'object', properties: { method, days } },
    { method: 'bands', days: '7' },
  );
  assert.deepEqual({ params, errors }, { params: { method: 'bands', days: 7 }, errors: {} });
});
