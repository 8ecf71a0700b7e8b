-- The timings' seconds are written by the statement that sets their times, not generated
-- (issue #13; docs/BENCHMARKS.md, "Round 7"). PostgreSQL builds a generated column's
-- expression from its stored text for every statement that writes the table, as it does a
-- CHECK constraint's (migration 20261203000001): `orders` is written by every change and
-- `order_items` by every confirm and crossed-off line. Measured with both dropped:
-- PostgreSQL's CPU per request 0.488 → 0.464 and 0.388 → 0.354 ms in two interleaved pairs.
--
-- The status change sets `ticket_seconds` with `first_ready_at`, and crossing a line off sets
-- `done_seconds` with `done_at` (`storage::orders::apply`). The trade-off: a hand-written
-- UPDATE of `first_ready_at`, `created_at`, `done_at` or `confirmed_at` must set them too, as
-- the tests' back-dating does. Existing rows keep their values.
ALTER TABLE orders ALTER COLUMN ticket_seconds DROP EXPRESSION;
ALTER TABLE order_items ALTER COLUMN done_seconds DROP EXPRESSION;
