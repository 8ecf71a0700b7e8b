import { test } from 'node:test';
import assert from 'node:assert/strict';

import { parseOrderPath, shortOrderNumber, statusPagePath } from '../order/format.js';

test('the order number is the last 6 hex digits of the id, upper-cased', () => {
  assert.equal(shortOrderNumber('5b2fa9c1-0d2e-4f3a-9b8c-7d6e5f4a3b2c'), '4A3B2C');
  // Two UUIDv7 ids of the same evening (same time prefix): still two numbers.
  const first = shortOrderNumber('01a23868-9f72-7361-8175-9592cc91b809');
  const second = shortOrderNumber('01a23868-a013-7c02-9e11-40d2f7e3aa15');
  assert.equal(first, '91B809');
  assert.notEqual(first, second);
});

test('a page knows its restaurant and order from its address', () => {
  assert.deepEqual(parseOrderPath('/order/luigis/'), { slug: 'luigis', orderId: null });
  assert.deepEqual(
    parseOrderPath('/order/demo-trattoria/5B2FA9C1-0d2e-4f3a-9b8c-7d6e5f4a3b2c/'),
    { slug: 'demo-trattoria', orderId: '5b2fa9c1-0d2e-4f3a-9b8c-7d6e5f4a3b2c' },
  );
  assert.equal(parseOrderPath('/order/luigis'), null);
  assert.equal(parseOrderPath('/kitchen/'), null);
  assert.equal(parseOrderPath('/order/Luigis/'), null);
  assert.equal(parseOrderPath('/order/luigis/not-an-id/'), null);
});

test('the status page of an order', () => {
  assert.equal(statusPagePath('luigis', 'abc'), '/order/luigis/abc/');
});
