-- The outbox wake-up fires only for statements that inserted an event. A statement-level
-- trigger fires even when no row was inserted, and a status change that lost its race to a
-- concurrent one inserts none: it then woke the relay for nothing and took PostgreSQL's
-- database-wide NOTIFY lock at its commit, just when requests contend.
CREATE OR REPLACE FUNCTION notify_outbox_new() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM inserted) THEN
        PERFORM pg_notify('outbox_new', '');
    END IF;
    RETURN NULL;
END;
$$;

DROP TRIGGER order_events_notify ON order_events;
CREATE TRIGGER order_events_notify AFTER INSERT ON order_events
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION notify_outbox_new();
