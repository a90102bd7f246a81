-- generate_platform_metrics / get_platform_stats on a small world whose every
-- number is worked out by hand below. The day under test, D = 2024-03-15, is
-- long past, so whatever else the database holds (seed data is created "now")
-- cannot move its numbers.
--
-- Subscriptions (MRR at the end of D, ledger re-timed below):
--   A starter 29/month, new D-40; upgraded to pro 49 today (after D)  -> 29
--   B pro 1200/year, new D-10                                         -> 100 (1200 / 12)
--   C pro 49 trialing (never paid: no ledger event)                   -> 0
--   D free, created on D                                              -> 0
--   E business 99, new D-50, churned on D                             -> 0   (churn 99)
--   F starter 29, new D-60, churned D-45, reactivated on D            -> 29  (reactivation 29)
--   G starter 29, new D-70, upgraded to pro 49 on D                   -> 49  (expansion 20)
--   H business 99, new D-80, downgraded to starter 29 on D            -> 29  (contraction 70)
--   I starter 29 past_due, new D-90 (past_due still counts)           -> 29
--   MRR = 29 + 100 + 29 + 49 + 29 + 29 = 265
-- Churn rate over the 30 days ending D ([D-29, D]): churn events 1 (E);
-- paying when the window opened: A, E, G, H, I = 5; started in it: B (new),
-- F (reactivation) = 2; 1 / 7 = 0.1429.
begin;
select plan(21);

insert into auth.users (id, email) values
  ('00000000-0000-4000-a000-0000000300ad', 'h3-metrics-admin@test.local'),
  ('00000000-0000-4000-a000-000000030001', 'h3-metrics-owner@test.local'),
  ('00000000-0000-4000-a000-000000030002', 'h3-metrics-new-on-d@test.local'),
  ('00000000-0000-4000-a000-000000030003', 'h3-metrics-new-today@test.local');
update public.profiles set is_platform_admin = true where id = '00000000-0000-4000-a000-0000000300ad';
update public.profiles set created_at = case id
    when '00000000-0000-4000-a000-000000030002' then timestamptz '2024-03-15 13:00+00'
    else timestamptz '2023-08-01 00:00+00' end
  where id in ('00000000-0000-4000-a000-0000000300ad', '00000000-0000-4000-a000-000000030001',
               '00000000-0000-4000-a000-000000030002');

insert into public.shops (id, owner_id, name, slug, subscription_plan, subscription_status,
                          subscription_amount, billing_interval) values
  ('00000000-0000-4000-a000-00000030000a', '00000000-0000-4000-a000-000000030001', 'A', 'h3-m-a', 'starter', 'active', 29, 'month'),
  ('00000000-0000-4000-a000-00000030000b', '00000000-0000-4000-a000-000000030001', 'B', 'h3-m-b', 'pro', 'active', 1200, 'year'),
  ('00000000-0000-4000-a000-00000030000c', '00000000-0000-4000-a000-000000030001', 'C', 'h3-m-c', 'pro', 'trialing', 49, 'month'),
  ('00000000-0000-4000-a000-00000030000d', '00000000-0000-4000-a000-000000030001', 'D', 'h3-m-d', 'free', 'active', 0, 'month'),
  ('00000000-0000-4000-a000-00000030000e', '00000000-0000-4000-a000-000000030001', 'E', 'h3-m-e', 'business', 'active', 99, 'month'),
  ('00000000-0000-4000-a000-00000030000f', '00000000-0000-4000-a000-000000030001', 'F', 'h3-m-f', 'starter', 'active', 29, 'month'),
  ('00000000-0000-4000-a000-000000030010', '00000000-0000-4000-a000-000000030001', 'G', 'h3-m-g', 'starter', 'active', 29, 'month'),
  ('00000000-0000-4000-a000-000000030011', '00000000-0000-4000-a000-000000030001', 'H', 'h3-m-h', 'business', 'active', 99, 'month'),
  ('00000000-0000-4000-a000-000000030012', '00000000-0000-4000-a000-000000030001', 'I', 'h3-m-i', 'starter', 'past_due', 29, 'month'),
  ('00000000-0000-4000-a000-000000030013', '00000000-0000-4000-a000-000000030001', 'J', 'h3-m-j', 'free', 'active', 0, 'month');

-- Subscription changes, through the shops trigger that writes the ledger.
update public.shops set subscription_status = 'canceled' where id = '00000000-0000-4000-a000-00000030000e';
update public.shops set subscription_status = 'canceled' where id = '00000000-0000-4000-a000-00000030000f';
update public.shops set subscription_status = 'active' where id = '00000000-0000-4000-a000-00000030000f';
update public.shops set subscription_plan = 'pro', subscription_amount = 49 where id = '00000000-0000-4000-a000-000000030010';
update public.shops set subscription_plan = 'starter', subscription_amount = 29 where id = '00000000-0000-4000-a000-000000030011';
update public.shops set subscription_plan = 'pro', subscription_amount = 49 where id = '00000000-0000-4000-a000-00000030000a';

-- One transaction has one now(): give each event its place in time (A's
-- upgrade stays "today", after D).
update public.subscription_events e set occurred_at = t.at
from (values
  ('00000000-0000-4000-a000-00000030000a'::uuid, 'new'::public.subscription_event_kind, timestamptz '2024-02-04 10:00+00'),
  ('00000000-0000-4000-a000-00000030000b', 'new', timestamptz '2024-03-05 10:00+00'),
  ('00000000-0000-4000-a000-00000030000e', 'new', timestamptz '2024-01-25 10:00+00'),
  ('00000000-0000-4000-a000-00000030000e', 'churn', timestamptz '2024-03-15 10:00+00'),
  ('00000000-0000-4000-a000-00000030000f', 'new', timestamptz '2024-01-15 10:00+00'),
  ('00000000-0000-4000-a000-00000030000f', 'churn', timestamptz '2024-01-30 10:00+00'),
  ('00000000-0000-4000-a000-00000030000f', 'reactivation', timestamptz '2024-03-15 12:00+00'),
  ('00000000-0000-4000-a000-000000030010', 'new', timestamptz '2024-01-05 10:00+00'),
  ('00000000-0000-4000-a000-000000030010', 'expansion', timestamptz '2024-03-15 09:00+00'),
  ('00000000-0000-4000-a000-000000030011', 'new', timestamptz '2023-12-26 10:00+00'),
  ('00000000-0000-4000-a000-000000030011', 'contraction', timestamptz '2024-03-15 11:00+00'),
  ('00000000-0000-4000-a000-000000030012', 'new', timestamptz '2023-12-16 10:00+00')
) as t (shop_id, kind, at)
where e.shop_id = t.shop_id and e.kind = t.kind;

-- Shops A..I existed at the end of D (D itself created on D); J only today.
update public.shops set created_at = case id
    when '00000000-0000-4000-a000-00000030000d' then timestamptz '2024-03-15 08:00+00'
    else timestamptz '2023-12-01 00:00+00' end
  where id in ('00000000-0000-4000-a000-00000030000a', '00000000-0000-4000-a000-00000030000b',
               '00000000-0000-4000-a000-00000030000c', '00000000-0000-4000-a000-00000030000d',
               '00000000-0000-4000-a000-00000030000e', '00000000-0000-4000-a000-00000030000f',
               '00000000-0000-4000-a000-000000030010', '00000000-0000-4000-a000-000000030011',
               '00000000-0000-4000-a000-000000030012');

-- Orders of D: GMV counts delivered + completed (50 + 30); the order of D-1
-- and the pending / cancelled ones do not.
insert into public.form_submissions (shop_id, total, status, submitted_at) values
  ('00000000-0000-4000-a000-00000030000a', 50, 'completed', '2024-03-15 09:00+00'),
  ('00000000-0000-4000-a000-00000030000a', 30, 'delivered', '2024-03-15 10:00+00'),
  ('00000000-0000-4000-a000-00000030000a', 20, 'pending', '2024-03-15 11:00+00'),
  ('00000000-0000-4000-a000-00000030000a', 40, 'cancelled', '2024-03-15 23:59:59+00'),
  ('00000000-0000-4000-a000-00000030000a', 1000, 'completed', '2024-03-14 23:59:59+00');

-- Chat on D in shop B: one new conversation, three messages (one by the AI);
-- a message of D+1 does not count.
insert into public.conversations (id, shop_id, platform, external_id, created_at) values
  ('00000000-0000-4000-a000-000000030101', '00000000-0000-4000-a000-00000030000b', 'messenger', 'h3-psid', '2024-03-15 07:00+00');
insert into public.messages (conversation_id, shop_id, sender_type, content, is_ai_generated, created_at) values
  ('00000000-0000-4000-a000-000000030101', '00000000-0000-4000-a000-00000030000b', 'customer', 'hi', false, '2024-03-15 07:00+00'),
  ('00000000-0000-4000-a000-000000030101', '00000000-0000-4000-a000-00000030000b', 'ai', 'hello!', true, '2024-03-15 07:01+00'),
  ('00000000-0000-4000-a000-000000030101', '00000000-0000-4000-a000-00000030000b', 'agent', 'anything else?', false, '2024-03-15 07:05+00'),
  ('00000000-0000-4000-a000-000000030101', '00000000-0000-4000-a000-00000030000b', 'customer', 'thanks', false, '2024-03-16 00:00+00');

-- Data extensions: revenue 15 (accepted, started on D); status counts over
-- those created by the end of D.
insert into public.data_extensions (shop_id, kind, amount, status, starts_at, ends_at, created_at) values
  ('00000000-0000-4000-a000-00000030000a', 'extra-storage', 15, 'active', '2024-03-15 10:00+00', '2024-04-15 10:00+00', '2024-03-15 09:00+00'),
  ('00000000-0000-4000-a000-00000030000b', 'extra-storage', 20, 'pending', null, null, '2024-03-15 09:00+00'),
  ('00000000-0000-4000-a000-00000030000c', 'ai-pack', 5, 'rejected', '2024-03-15 10:00+00', null, '2024-03-15 09:00+00'),
  ('00000000-0000-4000-a000-000000030012', 'ai-pack', 7, 'expired', '2024-02-24 10:00+00', '2024-03-10 10:00+00', '2024-02-24 09:00+00'),
  ('00000000-0000-4000-a000-000000030012', 'ai-pack', 9, 'active', now(), null, now());

-- The platform's order figures are read from daily_sales_metrics: the
-- nightly sales job has computed every shop's day D (shops here are in UTC).
select count(private.compute_daily_sales_metrics(s.id, '2024-03-15')) as shop_days
  from public.shops s where s.owner_id = '00000000-0000-4000-a000-000000030001' \gset

-- ---- as a platform admin ----------------------------------------------------
select tests.authenticate_as('00000000-0000-4000-a000-0000000300ad');

create temp table day_d as select public.generate_platform_metrics('2024-03-15') as r;

select is((select r ->> 'date' from day_d), '2024-03-15', 'the row is for the requested day');
select is((select (r ->> 'mrr')::numeric from day_d), 265.00,
  'MRR at the end of D: paying shops only, yearly plan / 12, trial and free excluded, later upgrade ignored');
select is(
  (select jsonb_build_object('new', (r ->> 'mrr_new')::numeric, 'expansion', (r ->> 'mrr_expansion')::numeric,
                             'contraction', (r ->> 'mrr_contraction')::numeric, 'churned', (r ->> 'mrr_churned')::numeric,
                             'reactivation', (r ->> 'mrr_reactivation')::numeric) from day_d),
  '{"new": 0, "expansion": 20, "contraction": 70, "churned": 99, "reactivation": 29}'::jsonb,
  'the day''s MRR movements (ChartMogul types) as positive amounts');
select is(
  (select jsonb_build_object('new', r -> 'new_subscriptions', 'churned', r -> 'churned_subscriptions') from day_d),
  '{"new": 1, "churned": 1}'::jsonb,
  'new subscriptions count the reactivation; one churn');
select is((select (r ->> 'churn_rate')::numeric from day_d), 0.1429,
  'churn rate = 1 churn / (5 paying when the 30-day window opened + 2 started in it)');
select is(
  (select jsonb_build_object('gmv', (r ->> 'gmv')::numeric, 'total_orders', r -> 'total_orders') from day_d),
  '{"gmv": 80, "total_orders": 4}'::jsonb,
  'GMV counts delivered and completed orders placed that day; every order of the day is counted (from the shops'' daily metrics)');
select is(
  (select jsonb_build_object('total_users', r -> 'total_users', 'new_users', r -> 'new_users',
                             'total_shops', r -> 'total_shops', 'active_shops', r -> 'active_shops') from day_d),
  '{"total_users": 3, "new_users": 1, "total_shops": 9, "active_shops": 2}'::jsonb,
  'users and shops existing at the end of D; active = an order or a message that day');
select is(
  (select r -> 'plan_distribution' from day_d),
  '{"free": 1, "starter": 3, "pro": 4, "business": 1}'::jsonb,
  'plan distribution of the shops existing at the end of D');
select is(
  (select jsonb_build_object('new_conversations', r -> 'new_conversations', 'messages', r -> 'messages',
                             'ai', r -> 'ai_messages_processed') from day_d),
  '{"new_conversations": 1, "messages": 3, "ai": 1}'::jsonb,
  'conversations, messages and AI messages of that day');
select is(
  (select jsonb_build_object('revenue', (r ->> 'data_extension_revenue')::numeric, 'status', r -> 'data_extension_status') from day_d),
  '{"revenue": 15, "status": {"pending": 1, "active": 1, "expired": 1, "rejected": 1}}'::jsonb,
  'data extension revenue (accepted add-ons started that day) and status counts');

select is(
  public.generate_platform_metrics('2024-03-15') - 'computed_at',
  (select r - 'computed_at' from day_d),
  're-running the same day gives the same row');

select is((public.generate_platform_metrics('2024-03-05') ->> 'mrr_new')::numeric, 100.00,
  'a new yearly subscription of 1200 adds 100 of new MRR');
select is((public.generate_platform_metrics('2024-01-30') ->> 'mrr_churned')::numeric, 29.00,
  'a churn moves the shop''s whole MRR to churned');

select is(
  (public.generate_platform_metrics() ->> 'date')::date,
  (now() at time zone 'utc')::date - 1,
  'without a date: yesterday (UTC)');

select is(
  (select jsonb_path_query_array(public.get_platform_stats('2024-03-01', '2024-03-31') -> 'days', '$[*].date')),
  '["2024-03-05", "2024-03-15"]'::jsonb,
  'get_platform_stats: the computed days of the range, oldest first');
select is(
  (select public.get_platform_stats('2024-03-01', '2024-03-31') -> 'latest' ->> 'date'),
  '2024-03-15',
  'get_platform_stats: latest is the newest day of the range');

select tests.clear_authentication();

-- (as the database owner, a trusted caller, like pg_cron)
select is(
  (select (public.generate_platform_metrics((now() at time zone 'utc')::date) ->> 'mrr')::numeric),
  (select sum(private.monthly_recurring_revenue(s.subscription_plan, s.subscription_status,
                                                 s.subscription_amount, s.billing_interval))
   from public.shops s)::numeric(12, 2),
  'today''s MRR from the ledger equals the MRR of every shop''s current subscription');

select is(
  (select count(*)::integer from public.platform_metrics where date = '2024-03-15'),
  1,
  'one row per day, however often it is generated');

-- ---- bad input ---------------------------------------------------------------
select tests.authenticate_as('00000000-0000-4000-a000-0000000300ad');

select throws_ok(
  $$select public.generate_platform_metrics((now() at time zone 'utc')::date + 1)$$,
  'PT400', 'invalid_request', 'a future day is invalid_request');
select throws_ok(
  $$select public.get_platform_stats('2024-03-31', '2024-03-01')$$,
  'PT400', 'invalid_request', 'a range ending before it starts is invalid_request');
select throws_ok(
  $$select public.get_platform_stats('2022-01-01', '2024-03-01')$$,
  'PT400', 'invalid_request', 'a range over 366 days is invalid_request');

select * from finish();
rollback;
