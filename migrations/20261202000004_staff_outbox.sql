-- A second outbox, for messages about staff (today: `staff.removed`, when a staff row is
-- deleted; notifiers close that user's kitchen sockets). A table of its own rather than a kind
-- column on `order_events`: those rows are the restaurant's event log, each with its `seq`
-- (NOT NULL, gap-free, unique per restaurant) and its order, and `GET …/events/` and the
-- pruning read them as such; a staff message has neither and must never show there. The relay
-- publishes both tables the same way (in `position` order, marking only the confirmed prefix
-- of each batch), so a message written in the transaction that deletes the staff row goes out
-- even if the broker was down at that moment.
CREATE TABLE staff_outbox (
    position      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id      uuid NOT NULL UNIQUE,
    restaurant_id uuid NOT NULL REFERENCES restaurants (id) ON DELETE CASCADE,
    routing_key   text NOT NULL,
    -- The message body as published.
    payload       jsonb NOT NULL,
    -- W3C trace context of the request that made the change, carried across the broker.
    trace_context jsonb NOT NULL DEFAULT '{}'::jsonb,
    occurred_at   timestamptz NOT NULL,
    published_at  timestamptz
);
CREATE INDEX staff_outbox_unpublished_idx ON staff_outbox (position) WHERE published_at IS NULL;

-- Wakes the relay at commit, as an order event does.
CREATE TRIGGER staff_outbox_notify AFTER INSERT ON staff_outbox
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION notify_outbox_new();
