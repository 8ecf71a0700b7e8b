-- What the relay published, kept per restaurant as a watermark instead of per event (issue #13;
-- figures in docs/BENCHMARKS.md, "Round 8").
--
-- Every event row used to be updated once more after the broker confirmed it
-- (`published_at = now()`). As the partial index `WHERE published_at IS NULL` names that
-- column, the update could not be HOT: each event was written twice, with its five index
-- entries twice, and left a dead tuple for vacuum. But what is published of a restaurant is
-- always a prefix of its log in `seq` order (the relay publishes in order and marks only the
-- prefix the broker confirmed), so one number per restaurant says it all: everything up to
-- `published_seq` went out, everything after waits. The relay now writes that number once per
-- batch per restaurant (a HOT update of a small table no request writes, so it never waits for
-- a request's lock on `restaurant_sequences`), and an event row is written once.
--
-- The trade-off: finding what waits scans the restaurants' sequence rows (one per restaurant)
-- instead of a partial index. The relay does that read only when something may be there that
-- was not handed to it in memory (at start, on another instance's wake, each poll), and it is
-- cheap for thousands of restaurants; see the relay's `pending`.
CREATE TABLE outbox_progress (
    restaurant_id uuid PRIMARY KEY REFERENCES restaurants (id) ON DELETE CASCADE,
    -- Every event of the restaurant with `seq <= published_seq` was confirmed by the broker.
    published_seq bigint NOT NULL,
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- Carry over what was published: the prefix before the first event still waiting (an event
-- marked by hand past a waiting one is published again, which consumers drop as a duplicate).
INSERT INTO outbox_progress (restaurant_id, published_seq)
SELECT s.restaurant_id,
       COALESCE((SELECT min(e.seq) - 1 FROM order_events e
                 WHERE e.restaurant_id = s.restaurant_id AND e.published_at IS NULL), s.event_seq)
FROM restaurant_sequences s
WHERE s.event_seq > 0;

DROP INDEX order_events_unpublished_idx;
ALTER TABLE order_events DROP COLUMN published_at;

-- What waits for the broker, for people and tests (the relay reads it its own way, by
-- restaurant).
CREATE VIEW order_events_unpublished AS
SELECT e.*
FROM order_events e
LEFT JOIN outbox_progress p ON p.restaurant_id = e.restaurant_id
WHERE e.seq > COALESCE(p.published_seq, 0);
