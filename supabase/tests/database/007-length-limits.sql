-- 007-length-limits: every text, array and jsonb column a signed-in user may
-- write is bounded by a CHECK, so no filter a client sends (PostgREST accepts
-- backtracking regexes such as notes=match.^(.*)(.*)\2\1$) can make Postgres
-- chew on megabytes of one user's text. Values at a limit are stored; one
-- character more is refused with 23514 and nothing is written.
begin;
select plan(12);

-- Structure: each writable text-like column has a CHECK over it that bounds
-- its length (length, octet_length) or its values (= any). Columns added later
-- without a bound make this fail.
select is(
  (select array_agg(format('%s.%s', c.table_name, c.column_name) order by 1)
     from (select distinct table_name, column_name from information_schema.column_privileges
            where table_schema = 'public' and grantee = 'authenticated'
              and privilege_type in ('INSERT', 'UPDATE')) c
     join pg_attribute a on a.attrelid = format('public.%I', c.table_name)::regclass
                        and a.attname = c.column_name
    where a.atttypid in ('text'::regtype, 'text[]'::regtype, 'jsonb'::regtype, 'varchar'::regtype)
      and not exists (
        select 1 from pg_constraint k
         where k.conrelid = a.attrelid and k.contype = 'c' and a.attnum = any(k.conkey)
           and pg_get_constraintdef(k.oid) ~ '(length\(|octet_length\(|= ANY \(ARRAY)')),
  null,
  'every text, text[] and jsonb column authenticated may write has a bounding CHECK');
select ok(
  exists (select 1 from pg_constraint k
           where k.conrelid = 'public.stock_history'::regclass and k.contype = 'c'
             and pg_get_constraintdef(k.oid) like '%length(note) <= 500%'),
  'stock_history.note (written through update_stock) is bounded to 500 characters');

select tests.create_two_shops();
select tests.authenticate_as('00000000-0000-4000-a000-000000001001');

-- The order note of the issue's regex attack: 40 KB refused, 2,000 characters kept.
select throws_ok(
  format($$insert into public.form_submissions (shop_id, notes) values ('00000000-0000-4000-a000-000000002001', %L)$$,
         repeat('a', 40000)),
  '23514', null, 'a 40 KB order note is refused');
select lives_ok(
  format($$insert into public.form_submissions (shop_id, notes, customer_name, customer_address)
           values ('00000000-0000-4000-a000-000000002001', %L, %L, %L)$$,
         repeat('é', 2000), repeat('n', 200), repeat('a', 1000)),
  'notes of 2,000 characters (multi-byte), a name of 200 and an address of 1,000 are stored');
select throws_ok(
  format($$insert into public.form_submissions (shop_id, line_items) values ('00000000-0000-4000-a000-000000002001', %L)$$,
         (select jsonb_agg(jsonb_build_object('item_id', gen_random_uuid(), 'quantity', 1)) from generate_series(1, 501))),
  '23514', null, 'an order of 501 lines is refused');
select throws_ok(
  format($$insert into public.form_submissions (shop_id, line_items) values ('00000000-0000-4000-a000-000000002001', %L)$$,
         jsonb_build_array(jsonb_build_object('note', repeat('x', 70000)))),
  '23514', null, 'line_items over 64 KiB of JSON are refused');

select throws_ok(
  format($$insert into public.items (shop_id, name, description) values ('00000000-0000-4000-a000-000000002001', 'Mug', %L)$$,
         repeat('d', 5001)),
  '23514', null, 'an item description of 5,001 characters is refused');
select throws_ok(
  format($$insert into public.forms (shop_id, name, slug, fields) values ('00000000-0000-4000-a000-000000002001', 'F', 'f', %L)$$,
         (select jsonb_agg(jsonb_build_object('name', 'q' || n)) from generate_series(1, 101) n)),
  '23514', null, 'a form of 101 fields is refused');
select throws_ok(
  format($$insert into public.keyword_replies (shop_id, keywords, reply) values ('00000000-0000-4000-a000-000000002001', %L, 'hi')$$,
         array[repeat('k', 6000)]),
  '23514', null, 'keywords over 5,000 bytes are refused');
select throws_ok(
  format($$update public.profiles set full_name = %L where id = '00000000-0000-4000-a000-000000001001'$$, repeat('n', 201)),
  '23514', null, 'a profile name of 201 characters is refused');
select throws_ok(
  format($$insert into public.payment_methods (shop_id, type, instructions) values ('00000000-0000-4000-a000-000000002001', 'bank_transfer', %L)$$,
         repeat('i', 2001)),
  '23514', null, 'payment instructions of 2,001 characters are refused');

select tests.clear_authentication();
select is(
  (select count(*) from public.form_submissions where shop_id = '00000000-0000-4000-a000-000000002001'),
  1::bigint, 'only the order within the limits was written');

select * from finish();
rollback;
