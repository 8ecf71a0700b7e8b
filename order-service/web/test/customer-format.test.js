import { test } from 'node:test';
import assert from 'node:assert/strict';

import { shortOrderNumber } from '../order/format.js';

test('the order number is the first 6 characters of the id, upper-cased', () => {
  assert.equal(shortOrderNumber('5b2fa9c1-0d2e-4f3a-9b8c-7d6e5f4a3b2c'), '5B2FA9');
});
