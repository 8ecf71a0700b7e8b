SELECT count(*) AS "confirmed!",
                count(*) FILTER (WHERE o.status = 'completed') AS "completed!",
                count(*) FILTER (WHERE o.status = 'cancelled') AS "cancelled!",
                count(o.ticket_seconds) AS "ticket_count!",
                percentile_cont(0.5) WITHIN GROUP (ORDER BY o.ticket_seconds) AS ticket_p50,
                percentile_cont(0.9) WITHIN GROUP (ORDER BY o.ticket_seconds) AS ticket_p90,
                max(o.ticket_seconds) AS ticket_max,
                (SELECT COALESCE(jsonb_agg(jsonb_build_object('id', s.id, 'name', s.name, 'lines', d.lines,
                                                              'p50', d.p50, 'p90', d.p90)
                                           ORDER BY lower(s.name), s.id), '[]')
                 FROM stations s
                 CROSS JOIN LATERAL (
                     SELECT count(*) AS lines,
                            percentile_cont(0.5) WITHIN GROUP (ORDER BY l.seconds) AS p50,
                            percentile_cont(0.9) WITHIN GROUP (ORDER BY l.seconds) AS p90
                     FROM (SELECT i.done_seconds AS seconds
                           FROM order_items i
                           WHERE i.station_id = s.id AND i.done_at >= $2 AND i.done_at < $3) l) d
                 WHERE s.restaurant_id = $1) AS "stations!: Json<Vec<StationTimings>>"
         FROM orders o
         WHERE o.restaurant_id = $1 AND o.created_at >= $2 AND o.created_at < $3
