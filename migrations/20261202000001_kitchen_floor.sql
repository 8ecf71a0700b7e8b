-- The kitchen floor (API.md, "Kitchen floor"): stations and where menu entries are made, lines
-- crossed off one by one, rush, recall, the timestamps a screen and the timings need, and the
-- kitchen writes' idempotency keys.

CREATE TABLE stations (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    restaurant_id uuid NOT NULL REFERENCES restaurants (id) ON DELETE CASCADE,
    name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 50),
    UNIQUE (id, restaurant_id)
);
-- Names are unique per restaurant, compared case-insensitively ("Grill" and "grill" are one).
CREATE UNIQUE INDEX stations_name_key ON stations (restaurant_id, lower(name));

-- Where a menu entry is made. The composite key keeps a category or item on a station of its
-- own restaurant; deleting a station sets only `station_id` to NULL (PostgreSQL 15's column
-- list), so its entries fall back to no station.
ALTER TABLE menu_categories ADD COLUMN station_id bigint;
ALTER TABLE menu_categories ADD CONSTRAINT menu_categories_station_fk
    FOREIGN KEY (station_id, restaurant_id) REFERENCES stations (id, restaurant_id)
    ON DELETE SET NULL (station_id);
ALTER TABLE menu_items ADD COLUMN station_id bigint;
ALTER TABLE menu_items ADD CONSTRAINT menu_items_station_fk
    FOREIGN KEY (station_id, restaurant_id) REFERENCES stations (id, restaurant_id)
    ON DELETE SET NULL (station_id);

-- A line's station as it was at confirm time (a snapshot: no foreign key, so rerouting or
-- deleting a station later does not move or lose live tickets), and when it was crossed off.
ALTER TABLE order_items
    ADD COLUMN station_id   bigint,
    ADD COLUMN station_name text CHECK (length(station_name) BETWEEN 1 AND 50),
    ADD COLUMN done_at      timestamptz,
    ADD CONSTRAINT order_items_station_snapshot CHECK ((station_id IS NULL) = (station_name IS NULL));

ALTER TABLE orders
    ADD COLUMN rush              boolean NOT NULL DEFAULT false,
    ADD COLUMN recalled_at       timestamptz,
    ADD COLUMN status_changed_at timestamptz,
    ADD COLUMN ready_at          timestamptz,
    ADD COLUMN completed_at      timestamptz,
    -- The first time the order reached `ready`; unlike `ready_at`, a recall does not clear it,
    -- so ticket times (confirm -> first ready) survive a recall.
    ADD COLUMN first_ready_at    timestamptz;

-- Orders confirmed before this migration: until now only a status move changed an order, so
-- its last status move is its `updated_at`; `ready` and `completed` are dated from the event
-- log where it still has them (a completed order's completion is its last move).
UPDATE orders o SET
    status_changed_at = o.updated_at,
    first_ready_at = (SELECT min(e.occurred_at) FROM order_events e
                      WHERE e.order_id = o.id AND e.payload -> 'order' ->> 'status' = 'ready'),
    completed_at = CASE WHEN o.status = 'completed' THEN o.updated_at END;
UPDATE orders SET ready_at = COALESCE(first_ready_at, CASE WHEN status = 'ready' THEN status_changed_at END)
    WHERE status IN ('ready', 'completed', 'cancelled');
UPDATE orders SET first_ready_at = ready_at WHERE first_ready_at IS NULL;

ALTER TABLE orders
    ALTER COLUMN status_changed_at SET NOT NULL,
    -- Reached only on the way through `ready`; a recall from `ready` clears it again.
    ADD CONSTRAINT orders_ready_at_status
        CHECK (ready_at IS NULL OR status IN ('ready', 'completed', 'cancelled')),
    ADD CONSTRAINT orders_completed_at_status CHECK ((completed_at IS NULL) = (status <> 'completed')),
    ADD CONSTRAINT orders_first_ready_kept CHECK (ready_at IS NULL OR first_ready_at IS NOT NULL);

-- Timings: the orders of a restaurant confirmed in a window, and its lines done in a window.
CREATE INDEX orders_restaurant_created_idx ON orders (restaurant_id, created_at);
CREATE INDEX order_items_done_idx ON order_items (station_id, done_at) WHERE done_at IS NOT NULL;

-- Kitchen writes (PATCH, items, recall) with an `Idempotency-Key`, scoped to the order: the
-- request (to tell a replay from another request with the same key) and the first answer,
-- replayed as it was. Written in the same statement as the change it answers, so concurrent
-- requests with one key make one change. Kept at least 24 hours.
CREATE TABLE kitchen_idempotency_keys (
    order_id        uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    idempotency_key text NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 255),
    request         jsonb NOT NULL,
    response_status smallint NOT NULL CHECK (response_status BETWEEN 200 AND 499),
    response_body   jsonb NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (order_id, idempotency_key)
);
CREATE INDEX kitchen_idempotency_keys_created_idx ON kitchen_idempotency_keys (created_at);
