-- The whole schema of order-service. Constraints live here, not only in code, so no path into
-- the database can store an order the API would refuse.

CREATE TABLE users (
    id            uuid PRIMARY KEY,
    email         text NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    password_hash text NOT NULL,
    first_name    text NOT NULL CHECK (length(first_name) <= 150),
    last_name     text NOT NULL CHECK (length(last_name) <= 150),
    created_at    timestamptz NOT NULL DEFAULT now()
);
-- Emails are unique compared case-insensitively.
CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email));

CREATE TABLE restaurants (
    id         uuid PRIMARY KEY,
    name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    slug       text NOT NULL CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND length(slug) <= 100),
    owner_id   uuid NOT NULL REFERENCES users (id),
    -- The restaurant's event sequence: bumped (and so row-locked) in every transaction that
    -- changes one of its orders, which makes `seq` gap-free and equal to commit order.
    event_seq  bigint NOT NULL DEFAULT 0 CHECK (event_seq >= 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT restaurants_slug_key UNIQUE (slug)
);
CREATE INDEX restaurants_owner_idx ON restaurants (owner_id);

CREATE TABLE staff (
    restaurant_id uuid NOT NULL REFERENCES restaurants (id) ON DELETE CASCADE,
    user_id       uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role          text NOT NULL CHECK (role IN ('manager', 'kitchen')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (restaurant_id, user_id)
);
CREATE INDEX staff_user_idx ON staff (user_id);

CREATE TABLE menu_categories (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    restaurant_id uuid NOT NULL REFERENCES restaurants (id) ON DELETE CASCADE,
    name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    sort_order    integer NOT NULL DEFAULT 0,
    is_active     boolean NOT NULL DEFAULT true,
    UNIQUE (id, restaurant_id)
);
CREATE INDEX menu_categories_restaurant_idx ON menu_categories (restaurant_id, sort_order, id);

CREATE TABLE menu_items (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    restaurant_id uuid NOT NULL,
    category_id   bigint NOT NULL,
    name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    description   text NOT NULL DEFAULT '' CHECK (length(description) <= 2000),
    image_url     text CHECK (length(image_url) <= 2000),
    sort_order    integer NOT NULL DEFAULT 0,
    is_active     boolean NOT NULL DEFAULT true,
    UNIQUE (id, restaurant_id),
    -- An item belongs to a category of its own restaurant.
    FOREIGN KEY (category_id, restaurant_id)
        REFERENCES menu_categories (id, restaurant_id) ON DELETE CASCADE
);
CREATE INDEX menu_items_category_idx ON menu_items (category_id, sort_order, id);
CREATE INDEX menu_items_restaurant_idx ON menu_items (restaurant_id);

CREATE TABLE menu_variants (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    item_id    bigint NOT NULL REFERENCES menu_items (id) ON DELETE CASCADE,
    label      text NOT NULL CHECK (length(label) BETWEEN 1 AND 100),
    price      numeric(10, 2) NOT NULL CHECK (price >= 0),
    is_default boolean NOT NULL DEFAULT false,
    position   integer NOT NULL DEFAULT 0
);
CREATE INDEX menu_variants_item_idx ON menu_variants (item_id, position, id);

CREATE TABLE menu_modifiers (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    item_id          bigint NOT NULL REFERENCES menu_items (id) ON DELETE CASCADE,
    name             text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    price_adjustment numeric(10, 2) NOT NULL CHECK (price_adjustment >= 0),
    position         integer NOT NULL DEFAULT 0
);
CREATE INDEX menu_modifiers_item_idx ON menu_modifiers (item_id, position, id);

CREATE TABLE orders (
    id               uuid PRIMARY KEY,
    restaurant_id    uuid NOT NULL REFERENCES restaurants (id),
    status           text NOT NULL DEFAULT 'confirmed'
                     CHECK (status IN ('confirmed', 'preparing', 'ready', 'completed', 'cancelled')),
    -- Starts at 1 and grows by exactly 1 with every change.
    version          integer NOT NULL DEFAULT 1 CHECK (version >= 1),
    table_identifier text CHECK (length(table_identifier) <= 50),
    raw_input        text NOT NULL CHECK (length(raw_input) <= 2000),
    language         text NOT NULL CHECK (length(language) BETWEEN 1 AND 35),
    total_price      numeric(10, 2) NOT NULL CHECK (total_price >= 0),
    idempotency_key  text CHECK (length(idempotency_key) BETWEEN 1 AND 255),
    -- The confirm request as received, to tell a replay from a different request with the same key.
    idempotency_request jsonb,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    CONSTRAINT orders_idempotency_key UNIQUE (restaurant_id, idempotency_key)
);
-- The kitchen list: the active orders of one restaurant, oldest first.
CREATE INDEX orders_active_idx ON orders (restaurant_id, created_at, id)
    WHERE status IN ('confirmed', 'preparing', 'ready');

CREATE TABLE order_items (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id         uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    position         integer NOT NULL,
    menu_item_id     bigint NOT NULL REFERENCES menu_items (id),
    -- Snapshot of the menu at order time: later menu edits must not change a past order.
    name             text NOT NULL,
    variant_id       bigint NOT NULL REFERENCES menu_variants (id),
    variant_label    text NOT NULL,
    variant_price    numeric(10, 2) NOT NULL CHECK (variant_price >= 0),
    quantity         integer NOT NULL CHECK (quantity BETWEEN 1 AND 99),
    special_requests text CHECK (length(special_requests) <= 500),
    UNIQUE (order_id, position)
);

CREATE TABLE order_item_modifiers (
    order_item_id    bigint NOT NULL REFERENCES order_items (id) ON DELETE CASCADE,
    position         integer NOT NULL,
    modifier_id      bigint NOT NULL REFERENCES menu_modifiers (id),
    name             text NOT NULL,
    price_adjustment numeric(10, 2) NOT NULL CHECK (price_adjustment >= 0),
    PRIMARY KEY (order_item_id, position)
);

-- The transactional outbox, which is also the restaurant's event log (GET …/events/).
CREATE TABLE order_events (
    -- Insertion order; within one restaurant it follows `seq`, because both are assigned while
    -- the restaurant row is locked. The relay publishes in this order.
    position      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id      uuid NOT NULL UNIQUE,
    restaurant_id uuid NOT NULL REFERENCES restaurants (id),
    seq           bigint NOT NULL CHECK (seq >= 1),
    order_id      uuid NOT NULL REFERENCES orders (id),
    routing_key   text NOT NULL,
    -- The whole event envelope as published.
    payload       jsonb NOT NULL,
    -- W3C trace context of the request that made the change, carried across the broker.
    trace_context jsonb NOT NULL DEFAULT '{}'::jsonb,
    occurred_at   timestamptz NOT NULL,
    published_at  timestamptz,
    CONSTRAINT order_events_restaurant_seq_key UNIQUE (restaurant_id, seq)
);
CREATE INDEX order_events_unpublished_idx ON order_events (position) WHERE published_at IS NULL;
CREATE INDEX order_events_occurred_idx ON order_events (occurred_at);

-- Wakes the outbox relay as soon as an event row commits (NOTIFY is delivered at commit).
CREATE FUNCTION notify_outbox_new() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('outbox_new', '');
    RETURN NULL;
END;
$$;
CREATE TRIGGER order_events_notify AFTER INSERT ON order_events
    FOR EACH STATEMENT EXECUTE FUNCTION notify_outbox_new();
