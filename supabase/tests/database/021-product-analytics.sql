-- generate_product_analytics: units, revenue, cost, profit, margin,
-- order count, stock at the end of the period (reconstructed from later
-- history), sell-through, days of cover, ABC classes; re-run identical;
-- range limit and authorization.
begin;
select plan(9);

-- Shop A (owner, staff, viewer) and shop B (outsider): supabase/tests/helpers.sql.
select tests.create_two_shops();
-- Created before the period: their opening stock ('initial' history rows) predates it.
insert into public.items (id, shop_id, name, price, cost, track_stock, stock, is_active, created_at) values
  ('00000000-0000-4000-a000-000000003001', '00000000-0000-4000-a000-000000002001', 'Blue mug', 10, 4, true, 10, true, '2025-12-01Z'),
  ('00000000-0000-4000-a000-000000003002', '00000000-0000-4000-a000-000000002001', 'T-shirt', 15, 8, true, 3, true, '2025-12-01Z'),
  ('00000000-0000-4000-a000-000000003003', '00000000-0000-4000-a000-000000002001', 'Gift wrap', 5, 0, false, null, true, '2025-12-01Z'),
  ('00000000-0000-4000-a000-000000003004', '00000000-0000-4000-a000-000000002001', 'Cap', 9, 3, true, 0, true, '2025-12-01Z'),
  ('00000000-0000-4000-a000-000000003005', '00000000-0000-4000-a000-000000002001', 'Retired', 9, 3, true, 0, false, '2025-12-01Z');

insert into public.form_submissions (shop_id, status, submitted_at, line_items) values
  ('00000000-0000-4000-a000-000000002001', 'completed', '2026-01-02 10:00Z',
   '[{"item_id": "00000000-0000-4000-a000-000000003001", "quantity": 4, "unit_price": 10, "unit_cost": 4},
     {"item_id": "00000000-0000-4000-a000-000000003002", "quantity": 1, "unit_price": 15}]'),
  ('00000000-0000-4000-a000-000000002001', 'delivered', '2026-01-05 10:00Z',
   '[{"item_id": "00000000-0000-4000-a000-000000003001", "quantity": 4, "unit_price": 10, "unit_cost": 4},
     {"item_id": "00000000-0000-4000-a000-000000003003", "quantity": 1, "unit_price": 5}]'),
  ('00000000-0000-4000-a000-000000002001', 'cancelled', '2026-01-06 10:00Z',
   '[{"item_id": "00000000-0000-4000-a000-000000003001", "quantity": 100, "unit_price": 10}]'),
  ('00000000-0000-4000-a000-000000002001', 'completed', '2026-01-11 00:00Z',
   '[{"item_id": "00000000-0000-4000-a000-000000003001", "quantity": 1, "unit_price": 10}]');

-- After the period the mug was restocked by 5: it had 5 at the end of the period.
insert into public.stock_history (shop_id, item_id, change, previous_stock, new_stock, reason, created_at) values
  ('00000000-0000-4000-a000-000000002001', '00000000-0000-4000-a000-000000003001', 5, 5, 10, 'restock', '2026-01-15 09:00Z');

select tests.authenticate_as('00000000-0000-4000-a000-000000001002');

create temp table first_run as
  select public.generate_product_analytics('00000000-0000-4000-a000-000000002001', '2026-01-01', '2026-01-10') as r;

select results_eq(
  $$select item_id, units_sold, revenue, cost, profit, margin_pct, order_count, stock_at_end,
           sell_through_rate, days_of_cover, abc_class
      from public.product_analytics
     where shop_id = '00000000-0000-4000-a000-000000002001' and period_start = '2026-01-01' and period_end = '2026-01-10'
     order by revenue desc, item_id$$,
  $$values
    ('00000000-0000-4000-a000-000000003001'::uuid, 8, 80.00, 32.00, 48.00, 60.00, 2, 5, 0.6154, 6.25, 'A'),
    ('00000000-0000-4000-a000-000000003002'::uuid, 1, 15.00, 8.00, 7.00, 46.67, 1, 3, 0.2500, 30.00, 'B'),
    ('00000000-0000-4000-a000-000000003003'::uuid, 1, 5.00, 0.00, 5.00, 100.00, 1, null, null, null, 'C'),
    ('00000000-0000-4000-a000-000000003004'::uuid, 0, 0.00, 0.00, 0.00, null, 0, 0, null, null, 'C')$$,
  'per item: completed/delivered sales of the period only, stock at the end from later history, sell-through, cover, ABC 80/15/5'
);

select is(
  (select jsonb_path_query_array(r, '$.rows[*].item_id') from first_run),
  '["00000000-0000-4000-a000-000000003001", "00000000-0000-4000-a000-000000003002",
    "00000000-0000-4000-a000-000000003003", "00000000-0000-4000-a000-000000003004"]'::jsonb,
  'the answer lists the rows by revenue, highest first; an inactive unsold item is left out'
);

select is(
  public.generate_product_analytics('00000000-0000-4000-a000-000000002001', '2026-01-01', '2026-01-10'),
  (select r from first_run),
  're-running gives the same rows (computed_at included: one transaction)'
);

select throws_ok(
  $$select public.generate_product_analytics('00000000-0000-4000-a000-000000002001', '2025-01-01', '2026-01-02')$$,
  'PT400', 'invalid_request', 'a period longer than 366 days is invalid_request');
select throws_ok(
  $$select public.generate_product_analytics('00000000-0000-4000-a000-000000002001', '2026-01-10', '2026-01-01')$$,
  'PT400', 'invalid_request', 'a period ending before it starts is invalid_request');

select tests.authenticate_as('00000000-0000-4000-a000-000000001003');
select throws_ok(
  $$select public.generate_product_analytics('00000000-0000-4000-a000-000000002001', '2026-01-01', '2026-01-10')$$,
  'PT403', 'forbidden', 'a viewer may not generate analytics');
select is(
  (select count(*) from public.product_analytics where shop_id = '00000000-0000-4000-a000-000000002001'),
  4::bigint,
  'a viewer can read the shop''s analytics'
);

select tests.authenticate_as('00000000-0000-4000-a000-000000001004');
select throws_ok(
  $$select public.generate_product_analytics('00000000-0000-4000-a000-000000002001', '2026-01-01', '2026-01-10')$$,
  'PT404', 'not_found', 'another shop''s owner gets not_found');
select is(
  (select count(*) from public.product_analytics where shop_id = '00000000-0000-4000-a000-000000002001'),
  0::bigint,
  'another shop''s owner cannot read them'
);

select * from finish();
rollback;
