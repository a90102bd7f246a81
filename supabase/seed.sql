-- Demo world for the local stack. Loaded after the migrations, as the
-- database owner (scripts/dev, or db_seed in scripts/lib/db.sh).
--
-- Deterministic: no random(); every id is fixed or md5-derived, every number
-- is arithmetic on a row index. Dates are relative to the day it is loaded, so
-- dashboards always show "the last 90 days".
--
-- Users (every one signs in at /auth/v1 with the password `demo-password`;
-- scripts also mint long-lived JWTs for the first five; sub = id, role = authenticated):
--   11111111-1111-4111-8111-111111111111  owner@demo.shop    owner of shop A
--   22222222-2222-4222-8222-222222222222  staff@demo.shop    staff of shop A
--   33333333-3333-4333-8333-333333333333  viewer@demo.shop   viewer of shop A
--   44444444-4444-4444-8444-444444444444  admin@demo.shop    platform admin (member of no shop)
--   55555555-5555-4555-8555-555555555555  owner-b@demo.shop  owner of shop B
--   md5('user-c<n>')::uuid                owner-c<n>@demo.shop, owners of shops C1..C7
--
-- Shops:
--   aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa  A 'Dhaka Threads'  slug dhaka-threads  Asia/Dhaka        BDT  pro, active, monthly 29
--   bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb  B 'Hudson Goods'   slug hudson-goods   America/New_York  USD  business, active, yearly 1188
--   cccccccc-cccc-4ccc-8ccc-00000000000<n>  C1..C7, one per remaining subscription story:
--     C1 free; C2 starter trialing; C3 starter -> pro (expansion); C4 pro past_due;
--     C5 business -> canceled (churn); C6 starter -> canceled -> active (reactivation);
--     C7 pro -> starter (contraction, yearly)
--
-- Shop A: 40 items (6 categories, some below their low-stock threshold, a few
-- services and inactive items), 90 days of orders in every status, 24
-- conversations. Shop B: 15 items, 90 days of orders, 8 conversations.

begin;

set local client_min_messages = warning;

-- ---------------------------------------------------------------------------
-- Users (profiles are created by the auth.users trigger)
-- ---------------------------------------------------------------------------

-- bcrypt as Supabase Auth stores passwords; a fixed salt keeps the seed deterministic.
insert into auth.users (id, aud, role, email, encrypted_password, email_confirmed_at, raw_app_meta_data, raw_user_meta_data, created_at, updated_at)
select u.id, 'authenticated', 'authenticated', u.email, pw.hash, now() - u.age, '{"provider": "email", "providers": ["email"]}'::jsonb,
       jsonb_build_object('full_name', u.full_name), now() - u.age, now() - u.age
from (values
  ('11111111-1111-4111-8111-111111111111'::uuid, 'owner@demo.shop', 'Ayesha Rahman', interval '400 days'),
  ('22222222-2222-4222-8222-222222222222'::uuid, 'staff@demo.shop', 'Tanvir Hasan', interval '180 days'),
  ('33333333-3333-4333-8333-333333333333'::uuid, 'viewer@demo.shop', 'Nusrat Jahan', interval '120 days'),
  ('44444444-4444-4444-8444-444444444444'::uuid, 'admin@demo.shop', 'Platform Admin', interval '500 days'),
  ('55555555-5555-4555-8555-555555555555'::uuid, 'owner-b@demo.shop', 'Marcus Cole', interval '420 days')
) as u (id, email, full_name, age)
cross join (select extensions.crypt('demo-password', '$2a$10$demoseedsaltdemoseedsa') as hash) pw
union all
select md5('user-c' || n)::uuid, 'authenticated', 'authenticated', 'owner-c' || n || '@demo.shop',
       extensions.crypt('demo-password', '$2a$10$demoseedsaltdemoseedsa'), now() - (30 * n + 60) * interval '1 day',
       '{"provider": "email", "providers": ["email"]}'::jsonb, jsonb_build_object('full_name', 'Demo Owner C' || n),
       now() - (30 * n + 60) * interval '1 day', now() - (30 * n + 60) * interval '1 day'
from generate_series(1, 7) n;

update public.profiles set created_at = u.created_at from auth.users u where u.id = profiles.id;
update public.profiles set is_platform_admin = true where id = '44444444-4444-4444-8444-444444444444';

-- ---------------------------------------------------------------------------
-- Shops and their subscription history
-- ---------------------------------------------------------------------------

insert into public.shops (id, owner_id, name, slug, currency, timezone, default_low_stock_threshold, created_at)
values
  ('aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', '11111111-1111-4111-8111-111111111111', 'Dhaka Threads', 'dhaka-threads', 'BDT', 'Asia/Dhaka', 5, now() - interval '390 days'),
  ('bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb', '55555555-5555-4555-8555-555555555555', 'Hudson Goods', 'hudson-goods', 'USD', 'America/New_York', 3, now() - interval '410 days');

insert into public.shops (id, owner_id, name, slug, currency, timezone, created_at)
select ('cccccccc-cccc-4ccc-8ccc-00000000000' || n)::uuid, md5('user-c' || n)::uuid, 'Demo Shop C' || n, 'demo-shop-c' || n,
       (array['USD', 'EUR', 'GBP', 'INR', 'BDT', 'USD', 'EUR'])[n],
       (array['Europe/London', 'Europe/Berlin', 'Asia/Kolkata', 'UTC', 'Asia/Dhaka', 'America/Chicago', 'Australia/Sydney'])[n],
       now() - (30 * n + 55) * interval '1 day'
from generate_series(1, 7) n;

-- Moves a shop's subscription and dates the ledger row the trigger wrote (if
-- any) at p_at, as if the change had happened then.
create function pg_temp.seed_subscription(
  p_shop_id uuid, p_plan public.subscription_plan, p_status public.subscription_status,
  p_amount numeric, p_interval public.billing_interval, p_at timestamptz
) returns void language plpgsql as $$
declare
  v_last bigint := (select coalesce(max(id), 0) from public.subscription_events);
begin
  update public.shops
     set subscription_plan = p_plan, subscription_status = p_status, subscription_amount = p_amount,
         billing_interval = p_interval,
         subscription_started_at = case when p_status = 'canceled' then subscription_started_at else p_at end,
         subscription_canceled_at = case when p_status = 'canceled' then p_at end
   where id = p_shop_id;
  update public.subscription_events set occurred_at = p_at where shop_id = p_shop_id and id > v_last;
end;
$$;

select pg_temp.seed_subscription('aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', 'starter', 'active', 9, 'month', now() - interval '380 days');
select pg_temp.seed_subscription('aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', 'pro', 'active', 29, 'month', now() - interval '200 days');
select pg_temp.seed_subscription('bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb', 'business', 'active', 1188, 'year', now() - interval '400 days');
-- C1 stays free.
select pg_temp.seed_subscription('cccccccc-cccc-4ccc-8ccc-000000000002', 'starter', 'trialing', 9, 'month', now() - interval '10 days');
select pg_temp.seed_subscription('cccccccc-cccc-4ccc-8ccc-000000000003', 'starter', 'active', 9, 'month', now() - interval '100 days');
select pg_temp.seed_subscription('cccccccc-cccc-4ccc-8ccc-000000000003', 'pro', 'active', 29, 'month', now() - interval '25 days');
select pg_temp.seed_subscription('cccccccc-cccc-4ccc-8ccc-000000000004', 'pro', 'active', 29, 'month', now() - interval '120 days');
select pg_temp.seed_subscription('cccccccc-cccc-4ccc-8ccc-000000000004', 'pro', 'past_due', 29, 'month', now() - interval '5 days');
select pg_temp.seed_subscription('cccccccc-cccc-4ccc-8ccc-000000000005', 'business', 'active', 99, 'month', now() - interval '150 days');
select pg_temp.seed_subscription('cccccccc-cccc-4ccc-8ccc-000000000005', 'business', 'canceled', 99, 'month', now() - interval '20 days');
select pg_temp.seed_subscription('cccccccc-cccc-4ccc-8ccc-000000000006', 'starter', 'active', 9, 'month', now() - interval '170 days');
select pg_temp.seed_subscription('cccccccc-cccc-4ccc-8ccc-000000000006', 'starter', 'canceled', 9, 'month', now() - interval '80 days');
select pg_temp.seed_subscription('cccccccc-cccc-4ccc-8ccc-000000000006', 'starter', 'active', 9, 'month', now() - interval '12 days');
select pg_temp.seed_subscription('cccccccc-cccc-4ccc-8ccc-000000000007', 'pro', 'active', 348, 'year', now() - interval '200 days');
select pg_temp.seed_subscription('cccccccc-cccc-4ccc-8ccc-000000000007', 'starter', 'active', 108, 'year', now() - interval '40 days');

-- ---------------------------------------------------------------------------
-- Team
-- ---------------------------------------------------------------------------

insert into public.team_members (shop_id, user_id, role, invited_by, created_at)
values
  ('aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', '22222222-2222-4222-8222-222222222222', 'staff', '11111111-1111-4111-8111-111111111111', now() - interval '170 days'),
  ('aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', '33333333-3333-4333-8333-333333333333', 'viewer', '11111111-1111-4111-8111-111111111111', now() - interval '110 days');

-- Members join by accepting an invitation (accept_invitation); the rows above
-- are what their accepted invitations left. One invitation is still pending,
-- with a fixed token so the flow can be tried locally, e.g. as the owner of
-- shop B: supabase.rpc('accept_invitation', { p_token: 'demo-invitation-to-shop-a' }).
insert into public.shop_invitations (shop_id, role, token, invited_by, expires_at)
values ('aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', 'viewer', 'demo-invitation-to-shop-a',
        '11111111-1111-4111-8111-111111111111', now() + interval '30 days');

-- ---------------------------------------------------------------------------
-- Payment methods and forms
-- ---------------------------------------------------------------------------

insert into public.payment_methods (id, shop_id, type, provider, account_name, account_number, instructions)
values
  (md5('pm-A-1')::uuid, 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', 'mobile_wallet', 'bKash', 'Dhaka Threads', '01700-000001', 'Send money, then reply with the transaction id.'),
  (md5('pm-A-2')::uuid, 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', 'cod', null, null, null, 'Pay the rider on delivery. Dhaka city only.'),
  (md5('pm-A-3')::uuid, 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', 'bank_transfer', 'BRAC Bank', 'Dhaka Threads Ltd', '1501-2020-3030', 'Use your order number as the reference.'),
  (md5('pm-B-1')::uuid, 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb', 'card', 'Stripe', null, null, 'We send a payment link after confirming your order.'),
  (md5('pm-B-2')::uuid, 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb', 'cod', null, null, null, 'Cash on pickup at our Hudson St. store.');

insert into public.forms (id, shop_id, name, slug, description, fields)
values
  (md5('form-A-1')::uuid, 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', 'Order form', 'order', 'Main order form',
   '[{"name": "customer_name", "label": "Name", "type": "text", "required": true},
     {"name": "customer_phone", "label": "Phone", "type": "tel", "required": true},
     {"name": "customer_address", "label": "Address", "type": "textarea", "required": true},
     {"name": "items", "label": "Items", "type": "items", "required": true}]'),
  (md5('form-A-2')::uuid, 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', 'Eid pre-order', 'eid-preorder', 'Seasonal pre-orders',
   '[{"name": "customer_name", "label": "Name", "type": "text", "required": true},
     {"name": "items", "label": "Items", "type": "items", "required": true}]'),
  (md5('form-B-1')::uuid, 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb', 'Order form', 'order', null,
   '[{"name": "customer_name", "label": "Name", "type": "text", "required": true},
     {"name": "customer_phone", "label": "Phone", "type": "tel", "required": false},
     {"name": "items", "label": "Items", "type": "items", "required": true}]');

-- ---------------------------------------------------------------------------
-- Items: 40 for A, 15 for B
-- ---------------------------------------------------------------------------

insert into public.items (id, shop_id, type, name, sku, category, price, cost, track_stock, stock, low_stock_threshold, is_active, created_at)
select md5('item-A-' || n)::uuid, 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa',
       case when n > 37 then 'service' else 'product' end::public.item_type,
       case when n > 37 then (array['Tailoring', 'Gift wrapping', 'Express delivery'])[n - 37]
            else (array['Cotton', 'Silk', 'Linen', 'Khadi', 'Muslin'])[n % 5 + 1] || ' ' ||
                 (array['Panjabi', 'Saree', 'Kurti', 'Scarf', 'Tote bag', 'Cushion cover', 'Lip balm', 'Earrings'])[n % 8 + 1] || ' #' || n end,
       'DT-' || lpad(n::text, 4, '0'),
       case when n > 37 then 'Services'
            else (array['Apparel', 'Apparel', 'Apparel', 'Accessories', 'Accessories', 'Home', 'Beauty', 'Jewelry'])[n % 8 + 1] end,
       (250 + (n * 137) % 2750)::numeric(12, 2),
       round((250 + (n * 137) % 2750) * 0.55, 2),
       n <= 37,
       case when n <= 37 then (n * 7) % 23 end,
       case when n % 4 = 0 then 8 end,
       n not in (13, 29),
       now() - (200 - n) * interval '1 day'
from generate_series(1, 40) n;

insert into public.items (id, shop_id, type, name, sku, category, price, cost, track_stock, stock, low_stock_threshold, is_active, created_at)
select md5('item-B-' || n)::uuid, 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb',
       case when n = 15 then 'service' else 'product' end::public.item_type,
       case when n = 15 then 'Engraving'
            else (array['Walnut', 'Maple', 'Ceramic', 'Copper', 'Wool'])[n % 5 + 1] || ' ' ||
                 (array['Mug', 'Cutting board', 'Candle', 'Throw', 'Planter'])[(n / 5) % 5 + 1] || ' #' || n end,
       'HG-' || lpad(n::text, 4, '0'),
       case when n = 15 then 'Services' else (array['Kitchen', 'Home', 'Decor'])[n % 3 + 1] end,
       (12 + (n * 9) % 80)::numeric(12, 2),
       round((12 + (n * 9) % 80) * 0.45, 2),
       n < 15,
       case when n < 15 then (n * 5) % 17 end,
       null,
       true,
       now() - (300 - n) * interval '1 day'
from generate_series(1, 15) n;

-- The opening stock of every tracked item is in stock_history already: the
-- items trigger records it as an 'initial' row dated the item's created_at.

-- ---------------------------------------------------------------------------
-- Conversations and messages
-- ---------------------------------------------------------------------------

create temporary table seed_customers (shop_key text, n integer, name text, phone text, ref text) on commit drop;
insert into seed_customers
select 'A', n,
       (array['Rahim Uddin', 'Karim Ahmed', 'Fatema Begum', 'Sadia Islam', 'Arif Hossain', 'Mitu Akter', 'Jamal Khan', 'Shirin Sultana', 'Rafiq Mia', 'Laila Noor'])[n % 10 + 1] || case when n >= 10 then ' ' || chr(65 + n / 10) else '' end,
       '+8801' || lpad((710000000 + n * 7919)::text, 9, '0'), 'fb-psid-' || (100000 + n)
from generate_series(0, 29) n
union all
select 'B', n,
       (array['Emma Stone', 'Liam Park', 'Olivia Chen', 'Noah Rivera', 'Ava Patel', 'Mason Lee'])[n % 6 + 1] || case when n >= 6 then ' ' || chr(65 + n / 6) else '' end,
       '+1212555' || lpad((1000 + n * 37)::text, 4, '0'), 'ig-' || (500000 + n)
from generate_series(0, 17) n;

insert into public.conversations (id, shop_id, platform, external_id, customer_name, customer_ref, status, ai_enabled, assigned_to, created_at)
select md5('conv-' || k.shop_key || '-' || g.n)::uuid, k.shop_id,
       (array['messenger', 'instagram', 'whatsapp'])[g.n % 3 + 1]::public.social_platform,
       'thread-' || k.shop_key || '-' || g.n, c.name, c.ref,
       case when g.n < k.total / 2 then 'open' when g.n % 3 = 0 then 'archived' else 'closed' end::public.conversation_status,
       g.n % 3 <> 0,
       case when k.shop_key = 'A' and g.n % 2 = 0 then '22222222-2222-4222-8222-222222222222'::uuid end,
       now() - (g.n * 3 + 1) * interval '1 day'
from (values ('A', 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa'::uuid, 24), ('B', 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb'::uuid, 8)) k (shop_key, shop_id, total)
cross join lateral generate_series(0, k.total - 1) as g (n)
join seed_customers c on c.shop_key = k.shop_key and c.n = g.n;

insert into public.messages (conversation_id, shop_id, sender_type, sender_id, content, is_ai_generated, created_at)
select c.id, c.shop_id, m.sender_type::public.message_sender_type,
       case when m.sender_type = 'agent' then coalesce(c.assigned_to, s.owner_id) end,
       m.content, m.sender_type = 'ai', c.created_at + m.minute * interval '1 minute'
from public.conversations c
join public.shops s on s.id = c.shop_id
cross join lateral (values
  (0, 'customer', 'Hi! Is this still available?'),
  (1, case when c.ai_enabled then 'ai' else 'agent' end, 'Yes, it is in stock. Would you like to order?'),
  (9, 'customer', 'How much is delivery?'),
  (11, case when c.ai_enabled then 'ai' else 'agent' end, 'Delivery is free above the minimum order; otherwise a flat fee applies.'),
  (30, 'customer', 'Great, I will place an order.'),
  (42, 'agent', 'Thank you! Here is the order form link.'),
  (43, 'system', 'Order form link sent.')
) as m (minute, sender_type, content)
-- 2 to 7 messages per conversation
where m.minute <= 1 + (get_byte(decode(md5(c.external_id), 'hex'), 0) % 5) * 10;

-- ---------------------------------------------------------------------------
-- Orders: 90 local days before today plus a few today, in every status.
-- ---------------------------------------------------------------------------

create temporary table seed_items on commit drop as
select i.shop_id, row_number() over (partition by i.shop_id order by i.sku)::integer as n,
       count(*) over (partition by i.shop_id)::integer as total, i.id, i.price, i.cost
from public.items i
where i.is_active;

create temporary table seed_orders on commit drop as
with shop_days as (
  select s.id as shop_id, s.timezone, d,
         case when s.id = 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa' then 2 + (d * 7) % 5 else 1 + (d * 5) % 3 end as orders_that_day,
         case when s.id = 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa' then 60 else 5 end as shipping_fee,
         case when s.id = 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa' then 'A' else 'B' end as shop_key
  from public.shops s
  cross join generate_series(0, 90) d
  where s.id in ('aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb')
), numbered as (
  select sd.*, j,
         row_number() over (partition by sd.shop_id order by sd.d desc, j)::integer as k,
         case when sd.d = 0
              then now() - (j + 1) * interval '25 minutes'
              else (((now() at time zone sd.timezone)::date - sd.d) + time '09:15' + j * interval '2 hours 23 minutes')
                   at time zone sd.timezone end as submitted_at
  from shop_days sd
  cross join lateral generate_series(0, sd.orders_that_day - 1) j
)
select md5('order-' || o.shop_key || '-' || o.k)::uuid as id, o.shop_id, o.shop_key, o.k, o.d, o.submitted_at, o.shipping_fee,
       case
         when o.d <= 2 then (array['pending', 'confirmed', 'processing', 'shipped'])[o.k % 4 + 1]
         when o.d <= 6 then (array['shipped', 'delivered', 'completed', 'cancelled'])[o.k % 4 + 1]
         else (array['completed', 'completed', 'completed', 'completed', 'completed', 'completed', 'completed',
                     'completed', 'completed', 'completed', 'completed', 'completed', 'delivered', 'delivered',
                     'delivered', 'delivered', 'cancelled', 'refunded', 'completed', 'cancelled'])[o.k % 20 + 1]
       end::public.order_status as status,
       (array['form', 'messenger', 'instagram', 'whatsapp', 'manual'])[o.k % 5 + 1]::public.order_channel as channel,
       (select jsonb_agg(jsonb_build_object('item_id', si.id, 'quantity', 1 + (o.k + line) % 3,
                                            'unit_price', si.price, 'unit_cost', si.cost) order by line)
          from generate_series(0, o.k % 3) line
          join seed_items si on si.shop_id = o.shop_id and si.n = (o.k * 7 + line * 13) % si.total + 1) as line_items
from numbered o;

insert into public.form_submissions (
  id, shop_id, form_id, customer_name, customer_phone, customer_address, customer_ref, line_items,
  subtotal, discount, shipping_fee, total, status, payment_status, payment_method_id, channel,
  conversation_id, stock_deducted_at, stock_restored_at, submitted_at, created_at, updated_at)
select o.id, o.shop_id,
       case when o.channel = 'form' then md5('form-' || o.shop_key || '-1')::uuid end,
       c.name, c.phone,
       case when o.shop_key = 'A' then 'House ' || (o.k % 90 + 1) || ', Road ' || (o.k % 27 + 1) || ', Dhanmondi, Dhaka'
            else (o.k % 400 + 10) || ' Hudson St, New York, NY' end,
       c.ref, o.line_items, t.subtotal, t.discount, o.shipping_fee, t.subtotal - t.discount + o.shipping_fee,
       o.status,
       case when o.status in ('completed', 'delivered') then 'paid'
            when o.status = 'refunded' then 'refunded'
            when o.status in ('pending', 'cancelled') then 'unpaid'
            when o.k % 2 = 0 then 'paid' else 'pending' end::public.payment_status,
       md5('pm-' || o.shop_key || '-' || (o.k % 2 + 1))::uuid,
       o.channel,
       case when o.channel in ('messenger', 'instagram', 'whatsapp') and o.k % 4 = 1
            then (select cv.id from public.conversations cv
                   where cv.shop_id = o.shop_id and cv.customer_ref = c.ref limit 1) end,
       case when o.status <> 'pending' then o.submitted_at + interval '10 minutes' end,
       case when o.status in ('cancelled', 'refunded') then o.submitted_at + interval '1 day' end,
       o.submitted_at, o.submitted_at,
       o.submitted_at + case when o.status = 'pending' then interval '0' else interval '1 day' end
from seed_orders o
join seed_customers c on c.shop_key = o.shop_key and c.n = o.k % (case when o.shop_key = 'A' then 30 else 18 end)
cross join lateral (
  select sum((l ->> 'quantity')::integer * (l ->> 'unit_price')::numeric) as subtotal,
         case when o.k % 7 = 0 then round(sum((l ->> 'quantity')::integer * (l ->> 'unit_price')::numeric) * 0.05, 2) else 0 end as discount
  from jsonb_array_elements(o.line_items) l
) t
order by o.submitted_at;

-- ---------------------------------------------------------------------------
-- Replies, integrations, sync, data extensions
-- ---------------------------------------------------------------------------

insert into public.keyword_replies (shop_id, keywords, match_type, reply, priority)
values
  ('aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', '{price,dam,koto}', 'contains', 'Prices are listed on each post. Send us the item name and we will confirm!', 10),
  ('aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', '{delivery,shipping}', 'contains', 'Delivery inside Dhaka takes 1-2 days (60 BDT); outside Dhaka 3-5 days (120 BDT).', 5),
  ('aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', '{hi,hello,salam}', 'exact', 'Hello! How can we help you today?', 1),
  ('bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb', '{hours,open}', 'contains', 'We are open Tue-Sun, 10am-6pm.', 5),
  ('bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb', '{engrave,engraving}', 'starts_with', 'Engraving takes 2 business days and costs $15.', 3);

insert into public.saved_replies (shop_id, title, content, shortcut)
values
  ('aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', 'Payment details', 'Please send the amount to bKash 01700-000001 and share the transaction id.', '/bkash'),
  ('aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', 'Order confirmed', 'Your order is confirmed! We will call you before delivery.', '/confirmed'),
  ('aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', 'Out of stock', 'Sorry, this one is sold out. Can we suggest something similar?', '/oos'),
  ('bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb', 'Thanks', 'Thanks for shopping at Hudson Goods!', '/thanks');

insert into public.social_integrations (id, shop_id, platform, account_id, account_name, token_expires_at, status, connected_by)
values
  (md5('int-A-1')::uuid, 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', 'messenger', 'page-1001', 'Dhaka Threads', null, 'active', '11111111-1111-4111-8111-111111111111'),
  (md5('int-A-2')::uuid, 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', 'instagram', 'ig-2002', '@dhakathreads', null, 'active', '11111111-1111-4111-8111-111111111111'),
  (md5('int-B-1')::uuid, 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb', 'instagram', 'ig-3003', '@hudsongoods', null, 'expired', '55555555-5555-4555-8555-555555555555');

-- Tokens go through the service-role function, so they are encrypted like real ones.
select public.set_social_integration_tokens(md5('int-A-1')::uuid, 'demo-page-token-A1', 'demo-refresh-A1', now() + interval '60 days');
select public.set_social_integration_tokens(md5('int-A-2')::uuid, 'demo-ig-token-A2', null, now() + interval '30 days');
select public.set_social_integration_tokens(md5('int-B-1')::uuid, 'demo-ig-token-B1', 'demo-refresh-B1', now() - interval '3 days');
update public.social_integrations set status = 'expired' where id = md5('int-B-1')::uuid;

insert into public.sync_status (shop_id, resource, target, last_synced_at, cursor, status, error_message)
values
  ('aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', 'items', 'pos-tablet-1', now() - interval '2 hours', 'c:items:1730', 'idle', null),
  ('aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', 'orders', 'pos-tablet-1', now() - interval '2 hours', 'c:orders:5521', 'idle', null),
  ('bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb', 'items', 'us-east', now() - interval '1 day', null, 'error', 'upstream timeout');

insert into public.data_extensions (shop_id, kind, amount, currency, status, starts_at, ends_at, reviewed_by, created_at)
values
  ('aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', 'extra_storage', 15, 'USD', 'active', now() - interval '60 days', now() + interval '305 days', '44444444-4444-4444-8444-444444444444', now() - interval '61 days'),
  ('aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', 'advanced_analytics', 25, 'USD', 'pending', null, null, null, now() - interval '2 days'),
  ('bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb', 'ai_credits', 49, 'USD', 'active', now() - interval '30 days', now() + interval '335 days', '44444444-4444-4444-8444-444444444444', now() - interval '31 days'),
  ('cccccccc-cccc-4ccc-8ccc-000000000004', 'history_export', 10, 'USD', 'rejected', null, null, '44444444-4444-4444-8444-444444444444', now() - interval '40 days'),
  ('cccccccc-cccc-4ccc-8ccc-000000000005', 'extra_storage', 15, 'USD', 'expired', now() - interval '140 days', now() - interval '20 days', '44444444-4444-4444-8444-444444444444', now() - interval '141 days');

-- ---------------------------------------------------------------------------
-- Pre-aggregated metrics for the 90 days (the analytics functions; platform rows
-- too when the admin functions are installed).
-- ---------------------------------------------------------------------------

do $$
begin
  perform public.generate_daily_sales_metrics(
            p_date => (now() at time zone s.timezone)::date - d, p_shop_id => s.id)
  from public.shops s cross join generate_series(1, 90) d
  where s.id in ('aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb');

  perform public.generate_product_analytics(
            p_shop_id => s.id,
            p_start => (now() at time zone s.timezone)::date - 30,
            p_end => (now() at time zone s.timezone)::date - 1)
  from public.shops s
  where s.id in ('aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb');
end
$$;

do $$
begin
  if to_regprocedure('public.generate_platform_metrics(date)') is not null then
    perform public.generate_platform_metrics(((now() at time zone 'utc')::date - d))
    from generate_series(1, 90) d;
  end if;
end
$$;

commit;
