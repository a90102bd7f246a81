-- 019: the stock-history retention purge, one batch at a time
-- (private.purge_stock_history_batch, which the monthly job's procedure
-- private.run_stock_history_purge calls once per transaction): the oldest
-- expired rows go first, p_batch_size at a time, each batch continuing at the
-- previous one's cursor (rows sharing its timestamp included); recent rows
-- stay; never under 30 days; trusted callers only; and the append-only guard
-- still refuses every other delete, in the batch's own transaction too. The
-- procedure commits, so it cannot run here: scripts/lib/db.sh
-- (db_check_stock_history_purge) calls the job's command as pg_cron does.
begin;
select plan(17);

select tests.create_two_shops();
insert into public.items (id, shop_id, name, stock) values
  ('00000000-0000-4000-a000-000000019001', '00000000-0000-4000-a000-000000002001', 'Mug', 0),
  ('00000000-0000-4000-a000-000000019002', '00000000-0000-4000-a000-000000002002', 'Lamp', 0);

-- Rows named by their note: shop, age in days (three share one timestamp).
insert into public.stock_history (shop_id, item_id, change, previous_stock, new_stock, reason, note, created_at)
select i.shop_id, i.id, 1, 0, 1, 'restock', r.note, now() - make_interval(days => r.age)
  from (values ('a', 'p19 a400-1', 400), ('a', 'p19 a400-2', 400), ('a', 'p19 a400-3', 400), ('a', 'p19 a380', 380),
               ('a', 'p19 a366', 366), ('a', 'p19 a364', 364), ('a', 'p19 a31', 31), ('a', 'p19 a1', 1),
               ('b', 'p19 b500', 500), ('b', 'p19 b10', 10)) r (shop, note, age)
  join public.items i on i.id = case r.shop when 'a' then '00000000-0000-4000-a000-000000019001'::uuid
                                            else '00000000-0000-4000-a000-000000019002'::uuid end;

create function pg_temp.left_rows() returns text language sql as $$
  select string_agg(regexp_replace(h.note, '^p19 (\w+?)(-\d)?$', '\1'), ' ' order by h.created_at, h.note)
    from public.stock_history h where h.note like 'p19 %' $$;
create temp table batches (n integer primary key, deleted integer, last_created_at timestamptz);
create function pg_temp.batch(p_n integer, p_after timestamptz) returns integer language sql as $$
  insert into batches select p_n, b.deleted, b.last_created_at
    from private.purge_stock_history_batch(interval '365 days', p_after, 2) b
  returning deleted $$;

-- ---- batches of 2, oldest first, each from the previous cursor ----------------------------
select is(pg_temp.batch(1, null), 2, 'the first batch deletes 2 rows');
select is(pg_temp.left_rows(), 'a400 a400 a380 a366 a364 a31 b10 a1',
  '... the oldest: B''s 500 days, then one of the three rows of 400 days');
select is((select last_created_at from batches where n = 1), now() - interval '400 days',
  '... and returns the created_at it stopped at as the next cursor');
select is((select count(*)::integer from private.stock_history_purges), 0,
  'the batch unmarked its transaction before returning');
select throws_ok(
  $$delete from public.stock_history where note = 'p19 a1'$$,
  'PT409', 'conflict', 'so a delete after it in the same transaction is refused by the append-only guard');

select is(pg_temp.batch(2, (select last_created_at from batches where n = 1)), 2,
  'the next batch, from the cursor, deletes 2 more');
select is(pg_temp.left_rows(), 'a380 a366 a364 a31 b10 a1',
  '... the two rows left at the cursor''s own timestamp');
select is(pg_temp.batch(3, (select last_created_at from batches where n = 2)), 2, 'then 2 more');
select is(pg_temp.batch(4, (select last_created_at from batches where n = 3)), 0,
  'the batch after the last expired row deletes nothing');
select is((select last_created_at from batches where n = 4), null, '... and has no cursor');
select is(pg_temp.left_rows(), 'a364 a31 b10 a1', 'every row older than 365 days is gone, every other row stays');

-- ---- limits ------------------------------------------------------------------------------
select throws_ok(
  $$select * from private.purge_stock_history_batch(interval '29 days', null, 10)$$,
  'PT400', 'invalid_request', 'a retention under 30 days is refused');
select throws_ok(
  $$select * from private.purge_stock_history_batch(interval '365 days', null, 0)$$,
  'PT400', 'invalid_request', 'a batch size under 1 is refused');
select (select b.deleted from private.purge_stock_history_batch(interval '30 days', null, 100000) b) > 0 as purged \gset
select is(pg_temp.left_rows(), 'b10 a1',
  'at the 30-day floor the purge deletes the row of 31 days and keeps those of 10 days and 1 day');

-- ---- callers ------------------------------------------------------------------------------
-- The database owner acting for an API request (claims set) is not trusted.
select set_config('request.jwt.claims',
  '{"role": "authenticated", "sub": "00000000-0000-4000-a000-000000001001"}', true) is not null as claims \gset
select throws_ok(
  $$select * from private.purge_stock_history_batch(interval '365 days', null, 10)$$,
  'PT403', 'forbidden', 'a caller with a user''s claims is refused, even as the database owner');
select tests.authenticate_as('00000000-0000-4000-a000-000000001001');
select throws_ok(
  $$select * from private.purge_stock_history_batch(interval '365 days', null, 10)$$,
  '42501', null, 'a signed-in user cannot reach the purge');
select tests.clear_authentication();

-- The procedure commits once per batch: inside a transaction block it is refused.
select throws_ok(
  $$call private.run_stock_history_purge(p_older_than => interval '365 days', p_batch_size => 10)$$,
  '2D000', null, 'the purge procedure commits per batch, so it cannot run inside a transaction');

select * from finish();
rollback;
