-- The write path's per-statement costs (issue #13; figures in docs/BENCHMARKS.md, "Round 4").
--
-- 1. No NOTIFY from the event insert. A transaction that notified commits under one
--    database-wide lock held through its WAL flush, so every write's commit queued behind the
--    others': dropping the trigger took `http` from 1,435 to 1,821 requests/s. The writing
--    request now wakes the relay itself, after its commit (order-service `events::wake`); the
--    relay still LISTENs, for other instances' wakes and for `staff_outbox`, whose rare inserts
--    keep their trigger.
DROP TRIGGER order_events_notify ON order_events;

-- 2. No CHECK constraints on the tables every order write touches. PostgreSQL rebuilds each
--    constraint's expression from its stored text for every statement that writes the table
--    (`pg_strtok`, `AllocSetContextCreateInternal` in the profiles); dropping these 18 took
--    `http` from 1,435 to 1,549 requests/s. What they checked is guaranteed before a row is
--    written, by the domain types the requests are parsed into (status, quantity 1-99, text
--    lengths, non-negative prices, the language tag, the idempotency key) and by the pure
--    transition logic (`domain::kitchen::decide`: ready_at, completed_at and first_ready_at
--    follow the status; unit-tested), and `seq` comes only from the counter. The trade-off: a
--    hand-written UPDATE in psql can now store what the API never would. Menu, staff and user
--    tables, written rarely, keep theirs. NOT NULL, unique and primary keys stay everywhere.
ALTER TABLE orders
    DROP CONSTRAINT orders_status_check,
    DROP CONSTRAINT orders_version_check,
    DROP CONSTRAINT orders_table_identifier_check,
    DROP CONSTRAINT orders_raw_input_check,
    DROP CONSTRAINT orders_language_check,
    DROP CONSTRAINT orders_total_price_check,
    DROP CONSTRAINT orders_idempotency_key_check,
    DROP CONSTRAINT orders_ready_at_status,
    DROP CONSTRAINT orders_completed_at_status,
    DROP CONSTRAINT orders_first_ready_kept;
ALTER TABLE order_items
    DROP CONSTRAINT order_items_variant_price_check,
    DROP CONSTRAINT order_items_quantity_check,
    DROP CONSTRAINT order_items_special_requests_check,
    DROP CONSTRAINT order_items_station_name_check,
    DROP CONSTRAINT order_items_station_snapshot;
ALTER TABLE order_item_modifiers DROP CONSTRAINT order_item_modifiers_price_adjustment_check;
ALTER TABLE order_events DROP CONSTRAINT order_events_seq_check;
ALTER TABLE restaurant_sequences DROP CONSTRAINT restaurant_sequences_event_seq_check;

-- 3. No foreign keys from an event to its order and restaurant: each is checked by a per-row
--    trigger running its own query, and the one statement that inserts an event has just
--    written that order (or updated it) under that restaurant's sequence row, so neither can
--    fail (measured: 1,435 → 1,501 requests/s). Orders and restaurants are never deleted.
ALTER TABLE order_events
    DROP CONSTRAINT order_events_order_id_fkey,
    DROP CONSTRAINT order_events_restaurant_id_fkey;
