-- get_sales_metrics: the pre-aggregated rows of a range and their
-- totals, at most 366 days, only the caller's shop, read-only.
begin;
select plan(8);

-- Shop A (owner, staff, viewer) and shop B (outsider): supabase/tests/helpers.sql.
select tests.create_two_shops();

insert into public.daily_sales_metrics (shop_id, date, orders, completed, cancelled, gross_revenue, discounts,
                                        net_revenue, cost_of_goods, gross_profit, items_sold) values
  ('00000000-0000-4000-a000-000000002001', '2026-02-01', 3, 2, 1, 100, 10, 90, 40, 50, 5),
  ('00000000-0000-4000-a000-000000002001', '2026-02-02', 1, 1, 0, 30, 0, 30, 10, 20, 1),
  ('00000000-0000-4000-a000-000000002001', '2026-02-10', 2, 1, 0, 50, 0, 50, 20, 30, 2),
  ('00000000-0000-4000-a000-000000002002', '2026-02-01', 9, 9, 0, 999, 0, 999, 0, 999, 9);

select tests.authenticate_as('00000000-0000-4000-a000-000000001003');

select is(
  jsonb_path_query_array(public.get_sales_metrics('00000000-0000-4000-a000-000000002001', '2026-02-01', '2026-02-09'),
                         '$.days[*].date'),
  '["2026-02-01", "2026-02-02"]'::jsonb,
  'the days of the range in order (the 10th is outside)'
);

select is(
  public.get_sales_metrics('00000000-0000-4000-a000-000000002001', '2026-02-01', '2026-02-28') -> 'totals',
  '{"days": 3, "orders": 6, "completed": 4, "cancelled": 1, "gross_revenue": 180, "discounts": 10,
    "net_revenue": 170, "cost_of_goods": 70, "gross_profit": 100, "items_sold": 8, "average_order_value": 42.50}'::jsonb,
  'totals are the sums of the shop''s own rows; average order value = net revenue / completed'
);

select is(
  public.get_sales_metrics('00000000-0000-4000-a000-000000002001', '2025-02-01', '2026-02-01') -> 'totals' -> 'days',
  '1'::jsonb,
  '366 days is allowed'
);

select throws_ok($$select public.get_sales_metrics('00000000-0000-4000-a000-000000002001', '2025-01-31', '2026-02-01')$$,
  'PT400', 'invalid_request', '367 days is invalid_request');
select throws_ok($$select public.get_sales_metrics('00000000-0000-4000-a000-000000002001', '2026-02-02', '2026-02-01')$$,
  'PT400', 'invalid_request', 'an end before the start is invalid_request');
select throws_ok($$select public.get_sales_metrics('00000000-0000-4000-a000-000000002002', '2026-02-01', '2026-02-02')$$,
  'PT404', 'not_found', 'another shop''s metrics are not_found');

select tests.clear_authentication();
select is(
  (select provolatile from pg_proc where oid = 'public.get_sales_metrics(uuid, date, date)'::regprocedure),
  's'::"char",
  'get_sales_metrics is stable (PostgREST runs it read-only)'
);
select is(
  (select prosecdef from pg_proc where oid = 'public.get_sales_metrics(uuid, date, date)'::regprocedure),
  false,
  'get_sales_metrics runs with the caller''s rights (RLS applies)'
);

select * from finish();
rollback;
