-- 004-triggers: what the triggers guarantee: profiles on signup,
-- is_platform_admin never self-settable, the owner's membership, per-shop
-- order numbers, the subscription ledger, append-only stock history,
-- updated_at, last_message_at, stock tracking, time zone validation.
begin;
select plan(39);

-- ---------------------------------------------------------------------------
-- Signup creates a profile; metadata never makes anyone an admin
-- ---------------------------------------------------------------------------

insert into auth.users (id, email, raw_user_meta_data, raw_app_meta_data) values
  ('f0000000-0000-4000-8000-000000000001', 'one@triggers.test',
   '{"full_name": "Una One", "avatar_url": "https://img.test/1.png", "is_platform_admin": true}', '{}'),
  ('f0000000-0000-4000-8000-000000000002', 'two@triggers.test', '{}', '{}');

select results_eq(
  $$select email, full_name, avatar_url, is_platform_admin from public.profiles
     where id = 'f0000000-0000-4000-8000-000000000001'$$,
  $$values ('one@triggers.test'::text, 'Una One'::text, 'https://img.test/1.png'::text, false)$$,
  'signup creates the profile from the user; is_platform_admin in user metadata is ignored');

update auth.users set email = 'uno@triggers.test' where id = 'f0000000-0000-4000-8000-000000000001';
select is((select email from public.profiles where id = 'f0000000-0000-4000-8000-000000000001'),
  'uno@triggers.test', 'an email change follows into the profile');

select tests.authenticate_as('f0000000-0000-4000-8000-000000000001');
select throws_ok(
  $$update public.profiles set is_platform_admin = true where id = 'f0000000-0000-4000-8000-000000000001'$$,
  '42501', null, 'a user cannot set is_platform_admin on their own row');
select throws_ok(
  $$update public.profiles set full_name = 'x', is_platform_admin = true where id = auth.uid()$$,
  '42501', null, '... not even together with an allowed column');
select lives_ok(
  $$update public.profiles set full_name = 'Una Changed' where id = auth.uid()$$,
  'a user may change their own name');
select is(private.is_platform_admin(), false, 'and is still not a platform admin');
select tests.clear_authentication();
select is((select full_name from public.profiles where id = 'f0000000-0000-4000-8000-000000000001'),
  'Una Changed', 'the allowed change was stored');

-- ---------------------------------------------------------------------------
-- A new shop makes its creator the owner member
-- ---------------------------------------------------------------------------

select tests.authenticate_as('f0000000-0000-4000-8000-000000000001');
select lives_ok(
  $$insert into public.shops (id, name, slug, timezone)
    values ('f1000000-0000-4000-8000-000000000001', 'Trigger One', 'trigger-one', 'Asia/Dhaka')$$,
  'a signed-in user creates a shop (owner_id defaults to auth.uid())');
select results_eq(
  $$select user_id, role from public.team_members where shop_id = 'f1000000-0000-4000-8000-000000000001'$$,
  $$values ('f0000000-0000-4000-8000-000000000001'::uuid, 'owner'::public.team_role)$$,
  'the creator is the shop''s owner member');
select ok(private.has_shop_role('f1000000-0000-4000-8000-000000000001', 'owner'), 'has_shop_role sees it at once');
select throws_ok(
  $$update public.team_members set role = 'admin'
     where shop_id = 'f1000000-0000-4000-8000-000000000001' and user_id = auth.uid()$$,
  'PT409', 'conflict', 'the owner''s membership cannot be demoted');
select throws_ok(
  $$insert into public.shops (name, slug, timezone) values ('Bad zone', 'bad-zone', 'Mars/Olympus')$$,
  'PT400', 'invalid_request', 'an unknown time zone is refused');
select throws_ok(
  $$insert into public.shops (name, slug) values ('Bad slug', 'Bad Slug!')$$,
  '23514', null, 'a slug must be lowercase words joined by dashes');
select tests.clear_authentication();

insert into public.shops (id, owner_id, name, slug)
values ('f2000000-0000-4000-8000-000000000002', 'f0000000-0000-4000-8000-000000000002', 'Trigger Two', 'trigger-two');

-- ---------------------------------------------------------------------------
-- Order numbers: per shop, increasing, not client-settable
-- ---------------------------------------------------------------------------

select tests.authenticate_as('f0000000-0000-4000-8000-000000000001');
insert into public.form_submissions (id, shop_id, total) values
  ('f3000000-0000-4000-8000-000000000001', 'f1000000-0000-4000-8000-000000000001', 10),
  ('f3000000-0000-4000-8000-000000000002', 'f1000000-0000-4000-8000-000000000001', 20);
insert into public.form_submissions (id, shop_id, total) values
  ('f3000000-0000-4000-8000-000000000003', 'f1000000-0000-4000-8000-000000000001', 30);
select results_eq(
  $$select order_number from public.form_submissions
     where shop_id = 'f1000000-0000-4000-8000-000000000001' order by id$$,
  array[1, 2, 3], 'orders of a shop are numbered 1, 2, 3 in insertion order');
select throws_ok(
  $$insert into public.form_submissions (shop_id, order_number, total) values ('f1000000-0000-4000-8000-000000000001', 1000, 5)$$,
  '42501', null, 'a client cannot choose an order number');
select throws_ok(
  $$update public.form_submissions set order_number = 1 where id = 'f3000000-0000-4000-8000-000000000003'$$,
  '42501', null, 'a client cannot renumber an order');
select throws_ok(
  $$update public.form_submissions set stock_deducted_at = now() where id = 'f3000000-0000-4000-8000-000000000003'$$,
  '42501', null, 'a client cannot mark stock as deducted');
select tests.clear_authentication();
insert into public.form_submissions (shop_id, total) values ('f2000000-0000-4000-8000-000000000002', 5);
select is((select order_number from public.form_submissions where shop_id = 'f2000000-0000-4000-8000-000000000002'),
  1, 'another shop has its own sequence');
-- A restore may put an order back with its original number; numbering continues after it.
insert into public.form_submissions (shop_id, order_number, total) values ('f1000000-0000-4000-8000-000000000001', 10, 5);
insert into public.form_submissions (id, shop_id, total) values
  ('f3000000-0000-4000-8000-000000000004', 'f1000000-0000-4000-8000-000000000001', 5);
select is((select order_number from public.form_submissions where id = 'f3000000-0000-4000-8000-000000000004'),
  11, 'after an explicit number (restore), numbering continues past it');
select throws_ok(
  $$insert into public.form_submissions (shop_id, order_number, total) values ('f1000000-0000-4000-8000-000000000001', 2, 5)$$,
  '23505', null, 'an order number is never reused within a shop');

-- ---------------------------------------------------------------------------
-- subscription_events: one ledger row per MRR movement, by trigger only
-- ---------------------------------------------------------------------------

create function pg_temp.subscribe(p_plan public.subscription_plan, p_status public.subscription_status,
  p_amount numeric, p_interval public.billing_interval) returns void language sql as $$
  update public.shops set subscription_plan = p_plan, subscription_status = p_status,
         subscription_amount = p_amount, billing_interval = p_interval
   where id = 'f2000000-0000-4000-8000-000000000002';
$$;
create function pg_temp.last_event() returns text language sql as $$
  select kind || ' ' || previous_mrr || ' -> ' || new_mrr from public.subscription_events
   where shop_id = 'f2000000-0000-4000-8000-000000000002' order by id desc limit 1;
$$;
create function pg_temp.event_count() returns bigint language sql as $$
  select count(*) from public.subscription_events where shop_id = 'f2000000-0000-4000-8000-000000000002';
$$;

select is(pg_temp.event_count(), 0::bigint, 'a new free shop has no MRR movement');
select pg_temp.subscribe('starter', 'trialing', 9, 'month');
select is(pg_temp.event_count(), 0::bigint, 'a trial is not paying: no movement');
select pg_temp.subscribe('starter', 'active', 9, 'month');
select is(pg_temp.last_event(), 'new 0.00 -> 9.00', 'the first payment is "new"');
select pg_temp.subscribe('pro', 'active', 29, 'month');
select is(pg_temp.last_event(), 'expansion 9.00 -> 29.00', 'an upgrade is "expansion"');
select pg_temp.subscribe('pro', 'active', 240, 'year');
select is(pg_temp.last_event(), 'contraction 29.00 -> 20.00', 'yearly billing counts as amount / 12 ("contraction")');
select pg_temp.subscribe('pro', 'past_due', 240, 'year');
select is(pg_temp.event_count(), 3::bigint, 'past_due still pays: no movement');
select pg_temp.subscribe('pro', 'canceled', 240, 'year');
select is(pg_temp.last_event(), 'churn 20.00 -> 0.00', 'cancelling is "churn"');
select pg_temp.subscribe('starter', 'active', 9, 'month');
select is(pg_temp.last_event(), 'reactivation 0.00 -> 9.00', 'paying again after churn is "reactivation"');
select pg_temp.subscribe('free', 'active', 0, 'month');
select is(pg_temp.last_event(), 'churn 9.00 -> 0.00', 'a downgrade to free is "churn"');
select is(
  (select plan || '/' || status from public.subscription_events
    where shop_id = 'f2000000-0000-4000-8000-000000000002' and kind = 'new'),
  'starter/active', 'events record the plan and status they moved to');

select tests.authenticate_as_service_role();
select throws_ok(
  $$insert into public.subscription_events (shop_id, kind, plan, status, billing_interval, previous_mrr, new_mrr)
    values ('f2000000-0000-4000-8000-000000000002', 'new', 'pro', 'active', 'month', 0, 1000)$$,
  '42501', null, 'not even service_role can write a ledger row by hand');
select tests.clear_authentication();

-- ---------------------------------------------------------------------------
-- stock_history is append-only; stock tracking stays consistent
-- ---------------------------------------------------------------------------

insert into public.items (id, shop_id, name, stock)
values ('f4000000-0000-4000-8000-000000000001', 'f1000000-0000-4000-8000-000000000001', 'Mug', 4);
-- (its opening stock is its first history row: 016-stock-history-invariant.sql)
select throws_ok(
  $$update public.stock_history set change = 400 where item_id = 'f4000000-0000-4000-8000-000000000001'$$,
  'PT409', 'conflict', 'history rows cannot be edited, even by the database owner');
select throws_ok(
  $$insert into public.stock_history (shop_id, item_id, change, previous_stock, new_stock, reason)
    values ('f1000000-0000-4000-8000-000000000001', 'f4000000-0000-4000-8000-000000000001', 1, 4, 6, 'restock')$$,
  '23514', null, 'a history row must add up (new = previous + change)');
select throws_ok(
  $$delete from public.items where id = 'f4000000-0000-4000-8000-000000000001'$$,
  '23503', null, 'an item with history cannot be deleted on its own (deactivate it)');
update public.items set track_stock = false where id = 'f4000000-0000-4000-8000-000000000001';
select is((select stock from public.items where id = 'f4000000-0000-4000-8000-000000000001'), null::integer,
  'untracked items have no stock number');
update public.items set track_stock = true where id = 'f4000000-0000-4000-8000-000000000001';
select is((select stock from public.items where id = 'f4000000-0000-4000-8000-000000000001'), 0,
  'tracking again starts from 0');
select throws_ok(
  $$insert into public.items (shop_id, name, stock) values ('f1000000-0000-4000-8000-000000000001', 'Negative', -1)$$,
  '23514', null, 'stock is never negative');

-- ---------------------------------------------------------------------------
-- updated_at and last_message_at
-- ---------------------------------------------------------------------------

update public.items set updated_at = '2020-01-01' where id = 'f4000000-0000-4000-8000-000000000001';
select is((select updated_at from public.items where id = 'f4000000-0000-4000-8000-000000000001'), now(),
  'updated_at is set by the trigger on every update');

insert into public.conversations (id, shop_id, platform, external_id)
values ('f5000000-0000-4000-8000-000000000001', 'f1000000-0000-4000-8000-000000000001', 'messenger', 't-1');
insert into public.messages (conversation_id, shop_id, sender_type, content, created_at) values
  ('f5000000-0000-4000-8000-000000000001', 'f1000000-0000-4000-8000-000000000001', 'customer', 'hi', '2026-03-01 10:00+00'),
  ('f5000000-0000-4000-8000-000000000001', 'f1000000-0000-4000-8000-000000000001', 'agent', 'hello', '2026-03-01 10:05+00');
insert into public.messages (conversation_id, shop_id, sender_type, content, created_at) values
  ('f5000000-0000-4000-8000-000000000001', 'f1000000-0000-4000-8000-000000000001', 'customer', 'late import', '2026-02-01 00:00+00');
select is((select last_message_at from public.conversations where id = 'f5000000-0000-4000-8000-000000000001'),
  '2026-03-01 10:05+00'::timestamptz, 'last_message_at is the newest message, even when an older one arrives later');

select * from finish();
rollback;
