-- restore_order_stock: a cancelled or refunded order gets back exactly
-- what was deducted, once; other statuses and never-deducted orders are
-- refused; authorization.
begin;
select plan(13);

-- Shop A (owner, staff, viewer) and shop B (outsider): supabase/tests/helpers.sql.
select tests.create_two_shops();
insert into public.items (id, shop_id, name, price, track_stock, stock) values
  ('00000000-0000-4000-a000-000000003001', '00000000-0000-4000-a000-000000002001', 'Blue mug', 12, true, 10),
  ('00000000-0000-4000-a000-000000003002', '00000000-0000-4000-a000-000000002001', 'T-shirt', 20, true, 3);
insert into public.form_submissions (id, shop_id, status, line_items) values
  ('00000000-0000-4000-a000-000000004001', '00000000-0000-4000-a000-000000002001', 'confirmed',
   '[{"item_id": "00000000-0000-4000-a000-000000003001", "quantity": 4},
     {"item_id": "00000000-0000-4000-a000-000000003002", "quantity": 1}]'),
  ('00000000-0000-4000-a000-000000004002', '00000000-0000-4000-a000-000000002001', 'cancelled',
   '[{"item_id": "00000000-0000-4000-a000-000000003001", "quantity": 1}]');

create function pg_temp.stocks() returns jsonb language sql security definer as $$
  select jsonb_object_agg(name, stock) from public.items
   where shop_id = '00000000-0000-4000-a000-000000002001' $$;
create function pg_temp.restored_at(p_order uuid) returns timestamptz language sql security definer as $$
  select stock_restored_at from public.form_submissions where id = p_order $$;

select tests.authenticate_as('00000000-0000-4000-a000-000000001002');

select public.process_order_stock_changes('00000000-0000-4000-a000-000000004001');
select is(pg_temp.stocks(), '{"Blue mug": 6, "T-shirt": 2}'::jsonb, 'setup: the order was deducted');

select throws_ok($$select public.restore_order_stock('00000000-0000-4000-a000-000000004001')$$,
  'PT409', 'conflict', 'an order that is not cancelled or refunded keeps its stock');

-- The order is cancelled, and its lines edited afterwards: what comes back
-- is what was taken, not the edited lines.
update public.form_submissions
   set status = 'cancelled',
       line_items = '[{"item_id": "00000000-0000-4000-a000-000000003001", "quantity": 40}]'
 where id = '00000000-0000-4000-a000-000000004001';

select tests.authenticate_as('00000000-0000-4000-a000-000000001003');
select throws_ok($$select public.restore_order_stock('00000000-0000-4000-a000-000000004001')$$,
  'PT403', 'forbidden', 'a viewer may not restore stock');
select tests.authenticate_as('00000000-0000-4000-a000-000000001004');
select throws_ok($$select public.restore_order_stock('00000000-0000-4000-a000-000000004001')$$,
  'PT404', 'not_found', 'another shop''s owner gets not_found');
select is(pg_temp.stocks(), '{"Blue mug": 6, "T-shirt": 2}'::jsonb, 'the refused callers changed nothing');

select tests.authenticate_as('00000000-0000-4000-a000-000000001002');
select is(
  public.restore_order_stock('00000000-0000-4000-a000-000000004001'),
  '{"order_id": "00000000-0000-4000-a000-000000004001", "already_restored": false,
    "items": [{"item_id": "00000000-0000-4000-a000-000000003001", "previous_stock": 6, "new_stock": 10},
              {"item_id": "00000000-0000-4000-a000-000000003002", "previous_stock": 2, "new_stock": 3}]}'::jsonb,
  'a cancelled order gets back exactly what was deducted'
);
select is(pg_temp.stocks(), '{"Blue mug": 10, "T-shirt": 3}'::jsonb, 'the stock is back');
select results_eq(
  $$select item_id, change, reason from public.stock_history
     where reference_id = '00000000-0000-4000-a000-000000004001' and reason = 'order_cancelled' order by item_id$$,
  $$values ('00000000-0000-4000-a000-000000003001'::uuid, 4, 'order_cancelled'::text),
           ('00000000-0000-4000-a000-000000003002'::uuid, 1, 'order_cancelled'::text)$$,
  'one order_cancelled history row per item'
);
select isnt(pg_temp.restored_at('00000000-0000-4000-a000-000000004001'), null, 'stock_restored_at is set');

select is(
  public.restore_order_stock('00000000-0000-4000-a000-000000004001'),
  '{"order_id": "00000000-0000-4000-a000-000000004001", "already_restored": true, "items": []}'::jsonb,
  'a second call says already_restored'
);
select is(pg_temp.stocks(), '{"Blue mug": 10, "T-shirt": 3}'::jsonb, '... and puts nothing back twice');

select throws_ok($$select public.restore_order_stock('00000000-0000-4000-a000-000000004002')$$,
  'PT409', 'conflict', 'a cancelled order that was never deducted has nothing to restore');

select is(
  public.process_order_stock_changes('00000000-0000-4000-a000-000000004001') -> 'already_processed',
  'true'::jsonb,
  'an order is deducted at most once: processing it again after the restore is a no-op'
);

select * from finish();
rollback;
