import { test } from 'node:test';
import assert from 'node:assert/strict';

import {
  LIMITS,
  addLine,
  clampQuantity,
  confirmBody,
  emptyBasket,
  explainRefusal,
  forgetSubmission,
  formatCents,
  itemCount,
  lineCents,
  makeLine,
  orderLanguage,
  parseCents,
  parseStored,
  randomKey,
  rawInput,
  reconcile,
  removeLine,
  setQuantity,
  setTable,
  storageKey,
  submissionKey,
  textLength,
  totalCents,
  validate,
} from '../order/basket.js';

/** The menu of API.md's example: a pizza in two sizes with extras, and a salad. */
const pizza = {
  id: 12,
  name: 'Pizza',
  description: null,
  image_url: null,
  variants: [
    { id: 1, label: 'Large', price: '14.99', is_default: true },
    { id: 2, label: 'Small', price: '9.50', is_default: false },
  ],
  modifiers: [
    { id: 3, name: 'Extra Cheese', price_adjustment: '2.00' },
    { id: 4, name: 'Olives', price_adjustment: '0.10' },
  ],
};
const salad = {
  id: 13,
  name: 'Salad',
  description: 'Green',
  image_url: null,
  variants: [{ id: 5, label: 'Regular', price: '0.20', is_default: true }],
  modifiers: [],
};
const menu = {
  restaurant_name: "Luigi's",
  categories: [{ id: 1, name: 'Food', sort_order: 0, items: [pizza, salad] }],
};

function line(item, choice) {
  const made = makeLine(item, choice);
  assert.ok('line' in made, JSON.stringify(made));
  return made.line;
}

function basketOf(...lines) {
  return lines.reduce((basket, l) => addLine(basket, l).basket, emptyBasket());
}

test('money is parsed and written in integer cents', () => {
  assert.equal(parseCents('14.99'), 1499);
  assert.equal(parseCents('2'), 200);
  assert.equal(parseCents('0.5'), 50);
  assert.equal(parseCents('0.10'), 10);
  assert.throws(() => parseCents('1.999'));
  assert.throws(() => parseCents('-1.00'));
  assert.throws(() => parseCents('abc'));
  assert.equal(formatCents(1499), '14.99');
  assert.equal(formatCents(5), '0.05');
  assert.equal(formatCents(0), '0.00');
  assert.equal(formatCents(123400), '1234.00');
});

test('a line is (variant + modifiers) × quantity, without float error', () => {
  // 2 × (14.99 + 2.00) = 33.98, API.md's example.
  assert.equal(lineCents(line(pizza, { variantId: 1, modifierIds: [3], quantity: 2 })), 3398);
  // 0.10 + 0.20 is 0.30000000000000004 in floats; three of them must be 0.90 here.
  const cheap = line(pizza, { variantId: 2, modifierIds: [4], quantity: 3 });
  assert.equal(lineCents(cheap), 3 * (950 + 10));
  const basket = basketOf(
    line(salad, { variantId: 5, quantity: 3 }),
    line(pizza, { variantId: 1, modifierIds: [3], quantity: 2 }),
  );
  assert.equal(totalCents(basket), 60 + 3398);
  assert.equal(formatCents(totalCents(basket)), '34.58');
  assert.equal(itemCount(basket), 5);
});

test("an Order's lines are priced by the same function", () => {
  const orderLine = {
    id: 7, menu_item_id: 12, name: 'Pizza', variant_label: 'Large', variant_price: '14.99',
    quantity: 2, special_requests: 'well done',
    modifiers: [{ id: 3, name: 'Extra Cheese', price_adjustment: '2.00' }],
  };
  assert.equal(formatCents(lineCents(orderLine)), '33.98');
});

test('a line takes only sizes and extras of its own item, with the menu prices', () => {
  assert.deepEqual(makeLine(pizza, { variantId: 5 }), { error: 'Choose a size first.' });
  assert.ok('error' in makeLine(pizza, { variantId: 1, modifierIds: [99] }));
  const made = line(pizza, { variantId: 2, modifierIds: [4, 3, 4], specialRequests: '  crisp ' });
  assert.deepEqual(made.modifier_ids, [3, 4], 'each once, in one order');
  assert.equal(made.variant_price, '9.50');
  assert.equal(made.special_requests, 'crisp');
  assert.equal(made.quantity, 1);
  const long = makeLine(pizza, { variantId: 1, specialRequests: 'x'.repeat(501) });
  assert.ok('error' in long);
  assert.ok('line' in makeLine(pizza, { variantId: 1, specialRequests: 'é'.repeat(500) }));
});

test('quantities stay within 1..=99', () => {
  assert.equal(clampQuantity(0), 1);
  assert.equal(clampQuantity(-4), 1);
  assert.equal(clampQuantity(100), 99);
  assert.equal(clampQuantity(2.7), 2);
  assert.equal(clampQuantity(Number.NaN), 1);
  let basket = basketOf(line(pizza, { variantId: 1, quantity: 98 }));
  const added = addLine(basket, line(pizza, { variantId: 1, quantity: 5 }));
  assert.equal(added.basket.lines[0].quantity, 99);
  assert.ok(added.capped, 'the customer is told the extra ones were not added');
  basket = setQuantity(added.basket, 0, 0);
  assert.equal(basket.lines[0].quantity, 1);
  assert.equal(setQuantity(basket, 0, 500).lines[0].quantity, 99);
});

test('the same choice adds up; another size, extra or note is another line', () => {
  const basket = basketOf(
    line(pizza, { variantId: 1, modifierIds: [3, 4] }),
    line(pizza, { variantId: 1, modifierIds: [4, 3], quantity: 2 }),
    line(pizza, { variantId: 2, modifierIds: [3, 4] }),
    line(pizza, { variantId: 1, modifierIds: [3] }),
    line(pizza, { variantId: 1, modifierIds: [3, 4], specialRequests: 'well done' }),
  );
  assert.deepEqual(
    basket.lines.map((l) => [l.variant_id, l.modifier_ids, l.special_requests, l.quantity]),
    [
      [1, [3, 4], '', 3],
      [2, [3, 4], '', 1],
      [1, [3], '', 1],
      [1, [3, 4], 'well done', 1],
    ],
  );
  assert.equal(removeLine(basket, 1).lines.length, 3);
  assert.equal(removeLine(basket, 9), basket);
});

test('a basket has at most 100 lines', () => {
  let basket = emptyBasket();
  for (let i = 0; i < LIMITS.lines; i += 1) {
    basket = addLine(basket, line(pizza, { variantId: 1, specialRequests: `note ${i}` })).basket;
  }
  const more = addLine(basket, line(salad, { variantId: 5 }));
  assert.ok(more.full);
  assert.equal(more.basket.lines.length, LIMITS.lines);
  assert.ok(!addLine(basket, line(pizza, { variantId: 1, specialRequests: 'note 3' })).full,
    'adding to an existing line still works');
});

test('texts are bounded by characters, as the server counts them', () => {
  assert.equal(textLength('🍕🍕'), 2);
  assert.equal(setTable(emptyBasket(), 't'.repeat(60)).table.length, LIMITS.table);
  assert.equal(textLength(setTable(emptyBasket(), '🍕'.repeat(60)).table), LIMITS.table);
  assert.deepEqual(validate(emptyBasket()), { items: 'Add something to your order first.' });
  assert.deepEqual(validate(basketOf(line(salad, { variantId: 5 }))), {});
  const tooLong = basketOf(line(salad, { variantId: 5 }));
  tooLong.lines[0].special_requests = 'x'.repeat(501);
  assert.ok(validate(tooLong)['items[0].special_requests']);
});

test('the confirm body has the lines, a summary, the table and the language', () => {
  const basket = setTable(
    basketOf(
      line(pizza, { variantId: 1, modifierIds: [3], quantity: 2, specialRequests: 'well done' }),
      line(salad, { variantId: 5 }),
    ),
    '  5 ',
  );
  assert.deepEqual(confirmBody(basket, 'it'), {
    items: [
      { menu_item_id: 12, variant_id: 1, quantity: 2, modifier_ids: [3], special_requests: 'well done' },
      { menu_item_id: 13, variant_id: 5, quantity: 1, modifier_ids: [] },
    ],
    raw_input: '2× Pizza (Large) + Extra Cheese, "well done"; 1× Salad (Regular)',
    table_identifier: '5',
    language: 'it',
  });
  const noTable = confirmBody(setTable(basket, '   '), 'en');
  assert.ok(!('table_identifier' in noTable), 'a blank table is no table');
});

test('the summary stays within 2000 characters', () => {
  let basket = emptyBasket();
  for (let i = 0; i < 100; i += 1) {
    basket = addLine(basket, line(pizza, { variantId: 1, modifierIds: [3, 4], specialRequests: `${i} ${'x'.repeat(40)}` })).basket;
  }
  const text = rawInput(basket);
  assert.equal(textLength(text), LIMITS.rawInput);
  assert.ok(text.endsWith('…'));
});

test("the order's language is the browser's two letters, else English", () => {
  assert.equal(orderLanguage('de-AT'), 'de');
  assert.equal(orderLanguage('IT'), 'it');
  assert.equal(orderLanguage('zh-Hant-TW'), 'zh');
  assert.equal(orderLanguage('fil-PH'), 'en');
  assert.equal(orderLanguage(''), 'en');
  assert.equal(orderLanguage(undefined), 'en');
});

test('one submission keeps its key; a changed basket gets a new one', () => {
  let n = 0;
  const newKey = () => `key-${(n += 1)}`;
  let basket = basketOf(line(pizza, { variantId: 1 }));
  const first = submissionKey(basket, confirmBody(basket, 'en'), newKey);
  assert.equal(first.key, 'key-1');
  // A double tap, or a retry after a lost answer (even from the stored basket after a reload).
  const stored = parseStored(JSON.stringify(first.basket));
  assert.equal(submissionKey(stored, confirmBody(stored, 'en'), newKey).key, 'key-1');
  assert.equal(submissionKey(first.basket, confirmBody(first.basket, 'en'), newKey).key, 'key-1');
  // The basket changed: another request, so another key.
  basket = setQuantity(first.basket, 0, 2);
  const second = submissionKey(basket, confirmBody(basket, 'en'), newKey);
  assert.equal(second.key, 'key-2');
  const retable = setTable(second.basket, '7');
  assert.equal(submissionKey(retable, confirmBody(retable, 'en'), newKey).key, 'key-3');
  const forgotten = forgetSubmission(second.basket);
  assert.equal(submissionKey(forgotten, confirmBody(forgotten, 'en'), newKey).key, 'key-4');
});

test("a refusal names the line it is about, or tells the server's detail", () => {
  const basket = basketOf(line(pizza, { variantId: 1 }), line(salad, { variantId: 5 }));
  assert.deepEqual(
    explainRefusal(
      {
        detail: 'The request has invalid fields.',
        errors: { 'items[1].quantity': ['must be between 1 and 99'], table_identifier: ['must be at most 50 characters'] },
      },
      basket,
    ),
    ['Salad (Regular): must be between 1 and 99', 'Table: must be at most 50 characters'],
  );
  assert.deepEqual(
    explainRefusal({ detail: 'Item 12 is not on the menu.' }, basket),
    ['Item 12 is not on the menu.'],
  );
  assert.equal(explainRefusal({}, basket).length, 1);
});

test('a basket kept overnight is checked against the menu of today', () => {
  const kept = basketOf(
    line(pizza, { variantId: 2, modifierIds: [3] }),
    line(salad, { variantId: 5 }),
  );
  const today = structuredClone(menu);
  const todaysPizza = today.categories[0].items[0];
  todaysPizza.variants[1].price = '10.00';
  todaysPizza.name = 'Pizza Margherita';
  today.categories[0].items.splice(1, 1); // no salad today
  const { basket, dropped } = reconcile(kept, today);
  assert.deepEqual(dropped, ['Salad']);
  assert.equal(basket.lines.length, 1);
  assert.equal(basket.lines[0].variant_price, '10.00');
  assert.equal(basket.lines[0].name, 'Pizza Margherita');
  todaysPizza.modifiers = [];
  assert.deepEqual(reconcile(kept, today).dropped, ['Pizza', 'Salad'], 'its extra is gone');
});

test('a stored basket is read defensively, one per restaurant', () => {
  assert.equal(storageKey('luigis'), 'kitchen-order:basket:luigis');
  assert.deepEqual(parseStored(null), emptyBasket());
  assert.deepEqual(parseStored('not json'), emptyBasket());
  assert.deepEqual(parseStored('{"lines": 3}'), emptyBasket());
  const good = line(pizza, { variantId: 1, modifierIds: [3] });
  const stored = parseStored(
    JSON.stringify({
      lines: [good, { ...good, quantity: 0 }, { ...good, variant_price: '1e3' }, null],
      table: '4',
      submission: { key: 'k' },
    }),
  );
  assert.deepEqual(stored, { lines: [good], table: '4', submission: null });
});

test('keys are random UUIDs, also where randomUUID is missing (plain HTTP)', () => {
  const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
  const insecure = { getRandomValues: (bytes) => globalThis.crypto.getRandomValues(bytes) };
  const one = randomKey(insecure);
  assert.match(one, uuid);
  assert.notEqual(randomKey(insecure), one);
  assert.match(randomKey(globalThis.crypto), uuid);
  const zeros = { getRandomValues: (bytes) => bytes };
  assert.equal(randomKey(zeros), '00000000-0000-4000-8000-000000000000');
});
