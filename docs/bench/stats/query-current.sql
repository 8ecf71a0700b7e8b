SELECT count(*) AS "confirmed!",
                count(*) FILTER (WHERE o.status = 'completed') AS "completed!",
                count(*) FILTER (WHERE o.status = 'cancelled') AS "cancelled!",
                count(o.first_ready_at) AS "ticket_count!",
                percentile_cont(0.5) WITHIN GROUP (ORDER BY date_part('epoch', o.first_ready_at - o.created_at)) AS ticket_p50,
                percentile_cont(0.9) WITHIN GROUP (ORDER BY date_part('epoch', o.first_ready_at - o.created_at)) AS ticket_p90,
                max(date_part('epoch', o.first_ready_at - o.created_at)) AS ticket_max,
                (SELECT COALESCE(jsonb_agg(jsonb_build_object('id', s.id, 'name', s.name, 'lines', d.lines,
                                                              'p50', d.p50, 'p90', d.p90)
                                           ORDER BY lower(s.name), s.id), '[]')
                 FROM stations s
                 CROSS JOIN LATERAL (
                     SELECT count(*) AS lines,
                            percentile_cont(0.5) WITHIN GROUP (ORDER BY l.seconds) AS p50,
                            percentile_cont(0.9) WITHIN GROUP (ORDER BY l.seconds) AS p90
                     FROM (SELECT date_part('epoch', i.done_at - (SELECT c.created_at FROM orders c
                                                                  WHERE c.id = i.order_id)) AS seconds
                           FROM order_items i
                           WHERE i.station_id = s.id AND i.done_at >= $2 AND i.done_at < $3
                           OFFSET 0) l) d
                 WHERE s.restaurant_id = $1) AS "stations!: Json<Vec<StationTimings>>"
         FROM orders o
         WHERE o.restaurant_id = $1 AND o.created_at >= $2 AND o.created_at < $3
