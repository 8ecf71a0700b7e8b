-- A status change within the kitchen updates the order's row in place (a HOT update), without
-- new index entries (issue #13; figures in docs/BENCHMARKS.md, "Round 8").
--
-- PostgreSQL can keep an update on the row's page, with no new entries in the table's
-- indexes, only when no indexed column changes, counting columns an index includes or names
-- in its predicate. `status` was in two: the kitchen list's partial index
-- (`WHERE status IN ('confirmed', 'preparing', 'ready')`) and the timings' index (INCLUDE
-- status, ticket_seconds). So every move of an order wrote an entry into each of its four
-- indexes and left a dead tuple to clean up, three times per order.
--
-- 1. The kitchen list's index is on `active` instead: true while the order is on the kitchen
--    list (not completed or cancelled), written by every status change with the status (the
--    same rule as `OrderStatus::is_final`). Only the moves onto and off the list change it;
--    preparing, ready, a rush, a recall between them stay in place. Added with a default of
--    false so the existing closed orders (nearly all of them) are not rewritten; then the
--    default is true, for instances still on the previous version during a rolling upgrade,
--    whose confirms do not name the column. Their moves off the list do not clear it either, so
--    the kitchen list also checks the status (the index finds the candidates; a row left
--    active by them only costs an index entry until the repair in the README).
ALTER TABLE orders ADD COLUMN active boolean NOT NULL DEFAULT false;
UPDATE orders SET active = true WHERE status IN ('confirmed', 'preparing', 'ready');
ALTER TABLE orders ALTER COLUMN active SET DEFAULT true;
DROP INDEX orders_active_idx;
CREATE INDEX orders_active_idx ON orders (restaurant_id, created_at, id) WHERE active;

-- 2. The timings' index no longer carries status and ticket_seconds (both change with the
--    status): the stats read them from the rows of the window, a rare read next to the writes.
DROP INDEX orders_restaurant_created_idx;
CREATE INDEX orders_restaurant_created_idx ON orders (restaurant_id, created_at);

-- 3. Room on each page for the rows' new versions (new pages; an order row is a few hundred
--    bytes and moves three or four times).
ALTER TABLE orders SET (fillfactor = 80);
