-- Stats benchmark data: a month of a busy restaurant (50,000 orders, ~3 lines each), plus
-- noise the stats query must step over: the same restaurant's previous month and another
-- restaurant's month (50,000 orders each).
\set ON_ERROR_STOP on
BEGIN;
INSERT INTO users (id, email, password_hash, first_name, last_name)
VALUES ('00000000-0000-0000-0000-000000000001', 'owner@example.com', 'x', 'O', 'W');
INSERT INTO restaurants (id, name, slug, owner_id) VALUES
    ('00000000-0000-0000-0000-0000000000a1', 'Busy', 'busy', '00000000-0000-0000-0000-000000000001'),
    ('00000000-0000-0000-0000-0000000000a2', 'Other', 'other', '00000000-0000-0000-0000-000000000001');
INSERT INTO restaurant_sequences (restaurant_id)
SELECT id FROM restaurants;
INSERT INTO stations (restaurant_id, name)
SELECT r, s FROM unnest(ARRAY['00000000-0000-0000-0000-0000000000a1'::uuid,
                              '00000000-0000-0000-0000-0000000000a2'::uuid]) r,
              unnest(ARRAY['grill', 'fry', 'cold', 'bar']) s;
INSERT INTO menu_categories (restaurant_id, name)
SELECT id, 'Mains' FROM restaurants;
INSERT INTO menu_items (restaurant_id, category_id, name)
SELECT restaurant_id, id, 'Dish' FROM menu_categories;
INSERT INTO menu_variants (item_id, label, price, position)
SELECT id, 'Regular', 10, 0 FROM menu_items;

-- Orders: (restaurant, month start) x 50,000, one every ~54 s. 5 % cancelled, the others of
-- the last 200 of each month still preparing, the rest completed; ticket times 5..25 min.
CREATE TEMP TABLE gen AS
SELECT gen_random_uuid() AS id, r.restaurant_id, n,
       r.start + (n * interval '31 days' / 50000) AS created_at,
       CASE WHEN n % 20 = 0 THEN 'cancelled' WHEN n > 49800 THEN 'preparing' ELSE 'completed' END AS status,
       interval '1 second' * (300 + 1200 * random()) AS ticket
FROM (VALUES ('00000000-0000-0000-0000-0000000000a1'::uuid, timestamptz '2026-11-01 00:00Z'),
             ('00000000-0000-0000-0000-0000000000a1'::uuid, timestamptz '2026-10-01 00:00Z'),
             ('00000000-0000-0000-0000-0000000000a2'::uuid, timestamptz '2026-11-01 00:00Z'))
     AS r (restaurant_id, start),
     generate_series(1, 50000) AS n;

INSERT INTO orders (id, restaurant_id, status, version, raw_input, language, total_price,
                    created_at, updated_at, status_changed_at, ready_at, completed_at, first_ready_at,
                    ticket_seconds, active)
SELECT id, restaurant_id, status, 4, 'bench', 'en', 30, created_at,
       created_at + ticket + interval '5 minutes',
       CASE status WHEN 'completed' THEN created_at + ticket + interval '5 minutes'
                   ELSE created_at + ticket / 2 END,
       CASE WHEN status = 'completed' THEN created_at + ticket END,
       CASE WHEN status = 'completed' THEN created_at + ticket + interval '5 minutes' END,
       CASE WHEN status = 'completed' THEN created_at + ticket END,
       CASE WHEN status = 'completed' THEN extract(epoch FROM ticket) END,
       status IN ('confirmed', 'preparing', 'ready')
FROM gen;

-- 1..5 lines per order (3 on average), each at one of its restaurant's 4 stations; lines of
-- completed orders done before the ticket's ready, of preparing orders half done, of
-- cancelled ones not done.
INSERT INTO order_items (order_id, position, menu_item_id, name, variant_id, variant_label,
                         variant_price, quantity, station_id, station_name, confirmed_at, done_at,
                         done_seconds)
SELECT g.id, p, i.id, 'Dish', v.id, 'Regular', 10, 1, s.id, s.name, g.created_at, done.at,
       extract(epoch FROM done.at - g.created_at)
FROM gen g
JOIN menu_items i ON i.restaurant_id = g.restaurant_id
JOIN menu_variants v ON v.item_id = i.id
CROSS JOIN LATERAL generate_series(1, 1 + (g.n % 5)) AS p
CROSS JOIN LATERAL (SELECT CASE WHEN g.status = 'completed' OR (g.status = 'preparing' AND p % 2 = 0)
                                THEN g.created_at + g.ticket * (0.3 + 0.7 * random()) END AS at) done
JOIN LATERAL (SELECT st.id, st.name FROM stations st WHERE st.restaurant_id = g.restaurant_id
              ORDER BY st.id OFFSET (g.n + p) % 4 LIMIT 1) s ON true;
COMMIT;
VACUUM ANALYZE;
