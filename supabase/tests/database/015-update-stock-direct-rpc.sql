-- update_stock called directly (POST /rest/v1/rpc/update_stock), as a real
-- staff member, without the inventory function in front: the SQL enforces the
-- same limits the edge checks. A note over 500 characters and a reference to
-- another shop's order (or to no order at all) are PT400 invalid_request and
-- nothing is written; a reference to an order of the item's own shop is kept.
begin;
select plan(9);

select tests.create_two_shops();
insert into public.items (id, shop_id, name, price, track_stock, stock) values
  ('00000000-0000-4000-a000-000000003001', '00000000-0000-4000-a000-000000002001', 'Blue mug', 12, true, 10);
insert into public.form_submissions (id, shop_id, status) values
  ('00000000-0000-4000-a000-000000004001', '00000000-0000-4000-a000-000000002001', 'confirmed'),
  ('00000000-0000-4000-a000-000000004101', '00000000-0000-4000-a000-000000002002', 'confirmed');

create function pg_temp.mug_state() returns text language sql security definer as $$
  select i.stock || '/' || (select count(*) from public.stock_history h where h.item_id = i.id and h.reason <> 'initial')
    from public.items i where i.id = '00000000-0000-4000-a000-000000003001' $$;

select tests.authenticate_as('00000000-0000-4000-a000-000000001002');

select throws_ok(
  format($$select public.update_stock('00000000-0000-4000-a000-000000003001', p_change => 1,
                                      p_reason => 'restock', p_note => %L)$$, repeat('x', 1000000)),
  'PT400', 'invalid_request', 'a 1 MB note through the direct RPC is invalid_request');
select throws_ok(
  format($$select public.update_stock('00000000-0000-4000-a000-000000003001', p_change => 1,
                                      p_reason => 'restock', p_note => %L)$$, repeat('é', 501)),
  'PT400', 'invalid_request', '501 characters is one too many');
select is(
  public.update_stock('00000000-0000-4000-a000-000000003001', p_change => 1, p_reason => 'restock',
                      p_note => repeat('é', 500)) ->> 'new_stock',
  '11', '500 characters (multi-byte) are accepted');

select throws_ok(
  $$select public.update_stock('00000000-0000-4000-a000-000000003001', p_change => -1, p_reason => 'sale',
                               p_reference_id => '00000000-0000-4000-a000-000000004101')$$,
  'PT400', 'invalid_request', 'a reference to another shop''s order is invalid_request');
select throws_ok(
  $$select public.update_stock('00000000-0000-4000-a000-000000003001', p_change => -1, p_reason => 'sale',
                               p_reference_id => '00000000-0000-4000-a000-00000000ffff')$$,
  'PT400', 'invalid_request', 'a reference to no order at all gets the same answer');
select is(
  tests.error_of(
    $$select public.update_stock('00000000-0000-4000-a000-000000003001', p_change => -1, p_reason => 'sale',
                                 p_reference_id => '00000000-0000-4000-a000-000000004101')$$) -> 'detail',
  '{"field": "reference_id"}'::jsonb,
  'the error names the field');
select is(pg_temp.mug_state(), '11/1', 'the refused calls wrote no stock and no history');

select is(
  public.update_stock('00000000-0000-4000-a000-000000003001', p_change => -1, p_reason => 'sale',
                      p_reference_id => '00000000-0000-4000-a000-000000004001') ->> 'new_stock',
  '10', 'a reference to an order of the item''s own shop is accepted');
select is(
  (select reference_id from public.stock_history
    where item_id = '00000000-0000-4000-a000-000000003001' order by id desc limit 1),
  '00000000-0000-4000-a000-000000004001'::uuid, '... and recorded');

select * from finish();
rollback;
