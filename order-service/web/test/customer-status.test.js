import { test } from 'node:test';
import assert from 'node:assert/strict';

import {
  POLL,
  currentStep,
  isFinal,
  isNewer,
  pollDelay,
  statusMessage,
  steps,
} from '../order/status-model.js';

const states = (status) => steps(status).map((s) => `${s.status}:${s.state}`);

test('the step the order is at is current, those before it done', () => {
  assert.deepEqual(states('confirmed'), [
    'confirmed:current', 'preparing:upcoming', 'ready:upcoming', 'completed:upcoming',
  ]);
  assert.deepEqual(states('preparing'), [
    'confirmed:done', 'preparing:current', 'ready:upcoming', 'completed:upcoming',
  ]);
  assert.deepEqual(states('ready'), [
    'confirmed:done', 'preparing:done', 'ready:current', 'completed:upcoming',
  ]);
  assert.deepEqual(states('completed'), [
    'confirmed:done', 'preparing:done', 'ready:done', 'completed:done',
  ]);
});

test('a cancelled order shows where it stopped', () => {
  assert.deepEqual(states('cancelled'), ['confirmed:done', 'cancelled:current']);
  assert.equal(currentStep('cancelled'), 'cancelled');
  assert.match(statusMessage('cancelled'), /cancelled/);
});

test('an unknown status has no current step but still says something', () => {
  assert.equal(currentStep('teleported'), null);
  assert.ok(steps('teleported').every((s) => s.state === 'upcoming'));
  assert.equal(statusMessage('teleported'), 'Status: teleported');
});

test('polling stops only on final statuses', () => {
  assert.deepEqual(
    ['confirmed', 'preparing', 'ready', 'completed', 'cancelled'].map(isFinal),
    [false, false, false, true, true],
  );
});

test('polling is every second when seen, slower when hidden, backing off on failures', () => {
  assert.equal(pollDelay({ visible: true, failures: 0 }), 1000);
  assert.equal(pollDelay({ visible: false, failures: 0 }), POLL.hidden);
  assert.ok(POLL.hidden > POLL.visible);
  assert.deepEqual(
    [1, 2, 3, 4, 20].map((failures) => pollDelay({ visible: true, failures })),
    [2000, 4000, 8000, 8000, 8000],
  );
  assert.equal(pollDelay({ visible: false, failures: 3 }), POLL.hidden, 'never faster when hidden');
});

test('an older answer never replaces a newer one', () => {
  const shown = { id: 'a', version: 3 };
  assert.ok(isNewer(null, shown));
  assert.ok(isNewer(shown, { id: 'a', version: 4 }));
  assert.ok(!isNewer(shown, { id: 'a', version: 3 }));
  assert.ok(!isNewer(shown, { id: 'a', version: 2 }));
  assert.ok(!isNewer(shown, { id: 'b', version: 9 }));
});
