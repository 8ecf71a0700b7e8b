-- Each event's payload size in bytes, so `GET …/events/` can stop a page before it grows past a
-- byte budget without reading (or measuring) the payloads it will not send. Generated, so every
-- writer fills it and the existing rows are measured as the table is rewritten here. The jsonb
-- text form has a space after each `:` and `,`, so it is a little above the compact JSON sent:
-- an overestimate, which keeps a page within its budget.
ALTER TABLE order_events
    ADD COLUMN payload_bytes integer GENERATED ALWAYS AS (octet_length(payload::text)) STORED;
