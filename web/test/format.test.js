// Unit tests of how numbers, durations and names are shown.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { count, customerName, duration, share } from '../src/format.js';

test('figures read as analysts expect', () => {
  assert.equal(count(12345), '12,345');
  assert.equal(count(null), '–');
  assert.equal(share(0.125), '12.5%');
  assert.equal(duration(850), '850 ms');
  assert.equal(duration(12_400), '12.4 s');
  assert.equal(duration(185_000), '3 min 5 s');
});

test('a customer without a name is shown by external id', () => {
  assert.equal(customerName({ firstName: 'Ana', lastName: 'Silva', externalId: 'c1' }), 'Ana Silva');
  assert.equal(customerName({ externalId: 'c1' }), 'c1');
  assert.equal(customerName(null), '(deleted)');
});
