-- Each restaurant's event sequence moves to a narrow row of its own. It is updated on every
-- change of an order; on the restaurants row, every reader of that row (each request's slug
-- lookup, the kitchen list) had to step over the versions those updates leave behind, which
-- made a busy restaurant's requests cost several times the CPU of a quiet one's.
CREATE TABLE restaurant_sequences (
    restaurant_id uuid PRIMARY KEY REFERENCES restaurants (id) ON DELETE CASCADE,
    event_seq     bigint NOT NULL DEFAULT 0 CHECK (event_seq >= 0)
) WITH (fillfactor = 50);

INSERT INTO restaurant_sequences (restaurant_id, event_seq)
SELECT id, event_seq FROM restaurants;

ALTER TABLE restaurants DROP COLUMN event_seq;
