-- 001_initial_schema: types, tables, constraints, indexes, triggers, RLS
-- policies and grants of the social-commerce backend.
--
-- Security model (see docs/ARCHITECTURE.md and the data-model spec):
--   * Every table has RLS enabled beside its definition, with one policy per
--     operation, written `to authenticated`, calling the private helpers as
--     `(select private.fn(...))` so Postgres evaluates them once per statement.
--   * Grants are deny-by-default: Supabase grants every right on new public
--     objects to anon and authenticated; section "grants" revokes them and
--     grants back only what the policies need, column by column where a
--     role may write only some columns.
--   * Helpers live in schema `private`, which PostgREST does not expose.
--   * Tables written only by functions or triggers (stock_history, metrics,
--     snapshots, backup logs, subscription_events, idempotency_keys) grant
--     no write right to clients at all.

create extension if not exists pgcrypto with schema extensions;

create schema if not exists private;
comment on schema private is
  'Not exposed by PostgREST: RLS helpers, trigger functions and secrets.';

-- ---------------------------------------------------------------------------
-- Types
-- ---------------------------------------------------------------------------

-- Declared in privilege order, so `role >= 'admin'` means admin or owner.
create type public.team_role as enum ('viewer', 'staff', 'admin', 'owner');
create type public.subscription_plan as enum ('free', 'starter', 'pro', 'business');
create type public.subscription_status as enum ('trialing', 'active', 'past_due', 'canceled');
create type public.billing_interval as enum ('month', 'year');
create type public.item_type as enum ('product', 'service');
create type public.order_status as enum (
  'pending', 'confirmed', 'processing', 'shipped', 'delivered', 'completed', 'cancelled', 'refunded'
);
create type public.payment_status as enum ('unpaid', 'pending', 'paid', 'partially_refunded', 'refunded', 'failed');
create type public.order_channel as enum ('form', 'messenger', 'instagram', 'whatsapp', 'manual');
create type public.payment_method_type as enum ('bank_transfer', 'mobile_wallet', 'cod', 'card', 'other');
create type public.social_platform as enum ('facebook', 'messenger', 'instagram', 'whatsapp', 'tiktok', 'web');
create type public.conversation_status as enum ('open', 'closed', 'archived');
create type public.message_sender_type as enum ('customer', 'agent', 'ai', 'system');
create type public.keyword_match_type as enum ('exact', 'contains', 'starts_with');
create type public.sync_state as enum ('idle', 'running', 'error');
create type public.integration_status as enum ('active', 'expired', 'revoked', 'error');
create type public.data_extension_status as enum ('pending', 'active', 'expired', 'rejected');
create type public.subscription_event_kind as enum ('new', 'expansion', 'contraction', 'churn', 'reactivation');

-- ---------------------------------------------------------------------------
-- Shared trigger function
-- ---------------------------------------------------------------------------

create function private.set_updated_at()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  new.updated_at := now();
  return new;
end;
$$;
comment on function private.set_updated_at() is
  'Trigger: keeps updated_at equal to the time of the last update.';

-- ---------------------------------------------------------------------------
-- profiles
-- ---------------------------------------------------------------------------

create table public.profiles (
  id uuid primary key references auth.users (id) on delete cascade,
  email text,
  full_name text,
  avatar_url text,
  is_platform_admin boolean not null default false,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
alter table public.profiles enable row level security;
comment on table public.profiles is
  'One row per auth.users row, created by trigger. is_platform_admin is never writable by its user.';

create trigger profiles_set_updated_at before update on public.profiles
  for each row execute function private.set_updated_at();

-- ---------------------------------------------------------------------------
-- shops
-- ---------------------------------------------------------------------------

create table public.shops (
  id uuid primary key default gen_random_uuid(),
  owner_id uuid not null default auth.uid() references public.profiles (id) on delete restrict,
  name text not null check (length(btrim(name)) between 1 and 200),
  slug text not null unique check (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' and length(slug) <= 80),
  currency char(3) not null default 'USD' check (currency ~ '^[A-Z]{3}$'),
  timezone text not null default 'UTC',
  default_low_stock_threshold integer not null default 5 check (default_low_stock_threshold >= 0),
  subscription_plan public.subscription_plan not null default 'free',
  subscription_status public.subscription_status not null default 'active',
  subscription_amount numeric(12, 2) not null default 0 check (subscription_amount >= 0),
  billing_interval public.billing_interval not null default 'month',
  subscription_started_at timestamptz,
  subscription_canceled_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
alter table public.shops enable row level security;
comment on table public.shops is
  'A tenant. Subscription columns are written by billing (service_role) only; every change is mirrored into subscription_events.';

create index shops_owner_id_idx on public.shops (owner_id);
create index shops_subscription_idx on public.shops (subscription_status, subscription_plan);
create index shops_created_at_idx on public.shops (created_at);

create trigger shops_set_updated_at before update on public.shops
  for each row execute function private.set_updated_at();

-- A check constraint cannot read pg_timezone_names, so a trigger validates it.
create function private.validate_shop_timezone()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if not exists (select 1 from pg_catalog.pg_timezone_names where name = new.timezone) then
    raise exception using errcode = 'PT400', message = 'invalid_request',
      detail = pg_catalog.jsonb_build_object('field', 'timezone', 'value', new.timezone)::text,
      hint = 'timezone must be an IANA time zone name such as ''Asia/Dhaka''';
  end if;
  return new;
end;
$$;
comment on function private.validate_shop_timezone() is
  'Trigger: a shop''s timezone is a name Postgres knows, so day boundaries computed with it are valid.';

create trigger shops_validate_timezone before insert or update of timezone on public.shops
  for each row execute function private.validate_shop_timezone();

-- ---------------------------------------------------------------------------
-- team_members
-- ---------------------------------------------------------------------------

create table public.team_members (
  id uuid primary key default gen_random_uuid(),
  shop_id uuid not null references public.shops (id) on delete cascade,
  user_id uuid not null references public.profiles (id) on delete cascade,
  role public.team_role not null default 'staff',
  invited_by uuid default auth.uid() references public.profiles (id) on delete set null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (shop_id, user_id)
);
alter table public.team_members enable row level security;
comment on table public.team_members is
  'Who may act on a shop and with which role. The shop owner''s own row is created by trigger and cannot be demoted or removed.';

create index team_members_user_id_idx on public.team_members (user_id);
create index team_members_invited_by_idx on public.team_members (invited_by);

create trigger team_members_set_updated_at before update on public.team_members
  for each row execute function private.set_updated_at();

-- ---------------------------------------------------------------------------
-- RLS helpers. security definer: they read team_members / profiles, whose own
-- policies call these helpers; running as the owner avoids that recursion and
-- lets one indexed lookup answer for the whole statement.
-- ---------------------------------------------------------------------------

create function private.is_shop_member(p_shop_id uuid)
returns boolean
language sql
stable
security definer
set search_path = ''
as $$
  select exists (
    select 1 from public.team_members tm
    where tm.shop_id = p_shop_id and tm.user_id = (select auth.uid())
  );
$$;
comment on function private.is_shop_member(uuid) is
  'True when the JWT user has any role in the shop. Never reads user_metadata.';

create function private.has_shop_role(p_shop_id uuid, p_min_role public.team_role)
returns boolean
language sql
stable
security definer
set search_path = ''
as $$
  select exists (
    select 1 from public.team_members tm
    where tm.shop_id = p_shop_id and tm.user_id = (select auth.uid()) and tm.role >= p_min_role
  );
$$;
comment on function private.has_shop_role(uuid, public.team_role) is
  'True when the JWT user''s role in the shop is at least p_min_role (viewer < staff < admin < owner).';

create function private.is_platform_admin()
returns boolean
language sql
stable
security definer
set search_path = ''
as $$
  select coalesce(
    (select p.is_platform_admin from public.profiles p where p.id = (select auth.uid())),
    false
  );
$$;
comment on function private.is_platform_admin() is
  'True when the JWT user''s profile has is_platform_admin, which only the database owner or service_role can set.';

create function private.shares_shop_with(p_user_id uuid)
returns boolean
language sql
stable
security definer
set search_path = ''
as $$
  select exists (
    select 1 from public.team_members mine
    join public.team_members theirs on theirs.shop_id = mine.shop_id
    where mine.user_id = (select auth.uid()) and theirs.user_id = p_user_id
  );
$$;
comment on function private.shares_shop_with(uuid) is
  'True when the JWT user and p_user_id are members of at least one common shop (teammates see each other''s profiles).';

create function private.is_trusted_caller()
returns boolean
language sql
stable
set search_path = ''
as $$
  select coalesce(auth.jwt() ->> 'role', '') = 'service_role'
    or (session_user = 'postgres' and auth.jwt() is null);
$$;
comment on function private.is_trusted_caller() is
  'True for a service_role JWT, and for the database owner''s own session without JWT claims (pg_cron jobs, psql). '
  'Requests through the API log in as authenticator, so end users never match the second branch.';

-- ---------------------------------------------------------------------------
-- items
-- ---------------------------------------------------------------------------

create table public.items (
  id uuid primary key default gen_random_uuid(),
  shop_id uuid not null references public.shops (id) on delete cascade,
  type public.item_type not null default 'product',
  name text not null check (length(btrim(name)) between 1 and 300),
  description text,
  sku text check (sku is null or length(btrim(sku)) between 1 and 100),
  category text,
  price numeric(12, 2) not null default 0 check (price >= 0),
  cost numeric(12, 2) check (cost >= 0),
  track_stock boolean not null default true,
  stock integer check (stock >= 0),
  low_stock_threshold integer check (low_stock_threshold >= 0),
  is_active boolean not null default true,
  image_url text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  -- stock is a number exactly when it is tracked
  constraint items_stock_tracked_check check ((stock is not null) = track_stock),
  -- lets children carry (item_id, shop_id) so a row can never point into another shop
  constraint items_id_shop_id_key unique (id, shop_id),
  constraint items_shop_id_sku_key unique (shop_id, sku)
);
alter table public.items enable row level security;
comment on table public.items is
  'Products and services. stock is never negative and is changed only through update_stock / order functions, which log stock_history.';

create index items_shop_id_category_idx on public.items (shop_id, category);
create index items_shop_id_active_idx on public.items (shop_id, is_active) where track_stock;

create trigger items_set_updated_at before update on public.items
  for each row execute function private.set_updated_at();

create function private.sync_item_stock_tracking()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if not new.track_stock then
    new.stock := null;
  elsif new.stock is null then
    new.stock := 0;
  end if;
  return new;
end;
$$;
comment on function private.sync_item_stock_tracking() is
  'Trigger: turning stock tracking on starts at 0, turning it off clears stock, so the tracked/stock check always holds.';

create trigger items_sync_stock_tracking before insert or update of track_stock on public.items
  for each row execute function private.sync_item_stock_tracking();

-- ---------------------------------------------------------------------------
-- stock_history (append-only)
-- ---------------------------------------------------------------------------

create table public.stock_history (
  id bigint generated always as identity primary key,
  shop_id uuid not null references public.shops (id) on delete cascade,
  item_id uuid not null,
  change integer not null check (change <> 0),
  previous_stock integer not null check (previous_stock >= 0),
  new_stock integer not null check (new_stock >= 0),
  -- text, not an enum: functions take the reason as a text argument and this
  -- check rejects unknown values with a constraint error naming the column.
  reason text not null check (
    reason in ('restock', 'sale', 'order_cancelled', 'return', 'damage', 'correction', 'manual')
  ),
  reference_id uuid,
  note text,
  created_by uuid default auth.uid() references public.profiles (id) on delete set null,
  created_at timestamptz not null default now(),
  constraint stock_history_arithmetic_check check (new_stock = previous_stock + change),
  -- no action (not cascade): an item with history cannot be deleted on its own,
  -- deactivate it instead; deleting the whole shop still removes both.
  constraint stock_history_item_fkey foreign key (item_id, shop_id)
    references public.items (id, shop_id)
);
alter table public.stock_history enable row level security;
comment on table public.stock_history is
  'Append-only audit of every stock change. Rows are never updated; they are deleted only with their shop or by private.purge_stock_history (retention).';

create index stock_history_item_id_created_at_idx on public.stock_history (item_id, created_at);
create index stock_history_shop_id_created_at_idx on public.stock_history (shop_id, created_at);
create index stock_history_reference_id_idx on public.stock_history (reference_id) where reference_id is not null;
create index stock_history_created_by_idx on public.stock_history (created_by);
create index stock_history_created_at_idx on public.stock_history (created_at);

-- Transactions allowed to purge history: a row here exists only inside
-- private.purge_stock_history's own transaction. Clients cannot reach schema
-- private, so a custom GUC (which anyone may SET) is not used for this.
create table private.stock_history_purges (
  transaction_id xid8 primary key default pg_catalog.pg_current_xact_id(),
  started_at timestamptz not null default now()
);

create function private.guard_stock_history()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  -- security definer: must see shops and the purge table whatever the caller may read.
  if tg_op = 'DELETE' then
    if exists (select 1 from private.stock_history_purges p
               where p.transaction_id = pg_catalog.pg_current_xact_id())
       or not exists (select 1 from public.shops s where s.id = old.shop_id) then
      return old;
    end if;
  end if;
  raise exception using errcode = 'PT409', message = 'conflict',
    detail = pg_catalog.jsonb_build_object('table', 'stock_history', 'operation', lower(tg_op))::text,
    hint = 'stock_history is append-only';
end;
$$;
comment on function private.guard_stock_history() is
  'Trigger: stock_history rows are never updated, and deleted only by the retention purge or with their shop.';

create trigger stock_history_append_only before update or delete on public.stock_history
  for each row execute function private.guard_stock_history();

create function private.purge_stock_history(p_older_than interval default interval '365 days')
returns integer
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_deleted integer;
begin
  -- security definer: the only path allowed to delete history rows; it marks its
  -- own transaction in private.stock_history_purges, which the guard trigger reads.
  if not (select private.is_trusted_caller()) then
    raise exception using errcode = 'PT403', message = 'forbidden',
      detail = '{}', hint = 'Only trusted callers may purge stock history';
  end if;
  if p_older_than < interval '30 days' then
    raise exception using errcode = 'PT400', message = 'invalid_request',
      detail = pg_catalog.jsonb_build_object('field', 'p_older_than')::text,
      hint = 'Stock history is kept at least 30 days';
  end if;
  insert into private.stock_history_purges default values on conflict do nothing;
  delete from public.stock_history where created_at < now() - p_older_than;
  get diagnostics v_deleted = row_count;
  delete from private.stock_history_purges where transaction_id = pg_catalog.pg_current_xact_id();
  return v_deleted;
end;
$$;
comment on function private.purge_stock_history(interval) is
  'Retention: deletes stock_history rows older than p_older_than (at least 30 days); returns how many. Trusted callers only (pg_cron).';

-- ---------------------------------------------------------------------------
-- forms
-- ---------------------------------------------------------------------------

create table public.forms (
  id uuid primary key default gen_random_uuid(),
  shop_id uuid not null references public.shops (id) on delete cascade,
  name text not null check (length(btrim(name)) between 1 and 200),
  slug text not null check (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' and length(slug) <= 80),
  description text,
  fields jsonb not null default '[]'::jsonb check (jsonb_typeof(fields) = 'array'),
  is_active boolean not null default true,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint forms_shop_id_slug_key unique (shop_id, slug),
  constraint forms_id_shop_id_key unique (id, shop_id)
);
alter table public.forms enable row level security;
comment on table public.forms is 'Custom order forms; fields is the form definition (a JSON array of field objects).';

create trigger forms_set_updated_at before update on public.forms
  for each row execute function private.set_updated_at();

-- ---------------------------------------------------------------------------
-- payment_methods
-- ---------------------------------------------------------------------------

create table public.payment_methods (
  id uuid primary key default gen_random_uuid(),
  shop_id uuid not null references public.shops (id) on delete cascade,
  type public.payment_method_type not null,
  provider text,
  account_name text,
  account_number text,
  instructions text,
  is_active boolean not null default true,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint payment_methods_id_shop_id_key unique (id, shop_id)
);
alter table public.payment_methods enable row level security;
comment on table public.payment_methods is 'How customers pay a shop.';

create index payment_methods_shop_id_idx on public.payment_methods (shop_id, is_active);

create trigger payment_methods_set_updated_at before update on public.payment_methods
  for each row execute function private.set_updated_at();

-- ---------------------------------------------------------------------------
-- conversations and messages
-- ---------------------------------------------------------------------------

create table public.conversations (
  id uuid primary key default gen_random_uuid(),
  shop_id uuid not null references public.shops (id) on delete cascade,
  platform public.social_platform not null,
  external_id text,
  customer_name text,
  customer_ref text,
  status public.conversation_status not null default 'open',
  ai_enabled boolean not null default true,
  assigned_to uuid references public.profiles (id) on delete set null,
  last_message_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint conversations_shop_platform_external_key unique (shop_id, platform, external_id),
  constraint conversations_id_shop_id_key unique (id, shop_id)
);
alter table public.conversations enable row level security;
comment on table public.conversations is 'Customer chats, one per customer thread on a platform.';

create index conversations_shop_id_last_message_at_idx on public.conversations (shop_id, last_message_at desc);
create index conversations_shop_id_status_idx on public.conversations (shop_id, status);
create index conversations_shop_id_created_at_idx on public.conversations (shop_id, created_at);
create index conversations_assigned_to_idx on public.conversations (assigned_to);

create trigger conversations_set_updated_at before update on public.conversations
  for each row execute function private.set_updated_at();

create table public.messages (
  id uuid primary key default gen_random_uuid(),
  conversation_id uuid not null,
  shop_id uuid not null references public.shops (id) on delete cascade,
  sender_type public.message_sender_type not null,
  sender_id uuid references public.profiles (id) on delete set null,
  content text not null check (length(content) <= 20000),
  is_ai_generated boolean not null default false,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint messages_conversation_fkey foreign key (conversation_id, shop_id)
    references public.conversations (id, shop_id) on delete cascade
);
alter table public.messages enable row level security;
comment on table public.messages is 'Chat messages; shop_id always equals the conversation''s shop (composite foreign key).';

create index messages_conversation_id_created_at_idx on public.messages (conversation_id, created_at);
create index messages_shop_id_created_at_idx on public.messages (shop_id, created_at);
create index messages_created_at_idx on public.messages (created_at);
create index messages_sender_id_idx on public.messages (sender_id);

create trigger messages_set_updated_at before update on public.messages
  for each row execute function private.set_updated_at();

create function private.touch_conversation_last_message()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  -- security definer: staff may insert a message without update rights on
  -- every conversation column; this only moves last_message_at forward.
  update public.conversations c
     set last_message_at = new.created_at
   where c.id = new.conversation_id
     and (c.last_message_at is null or c.last_message_at < new.created_at);
  return null;
end;
$$;
comment on function private.touch_conversation_last_message() is
  'Trigger: a conversation''s last_message_at is the time of its newest message.';

create trigger messages_touch_conversation after insert on public.messages
  for each row execute function private.touch_conversation_last_message();

-- ---------------------------------------------------------------------------
-- form_submissions (orders)
-- ---------------------------------------------------------------------------

create table public.form_submissions (
  id uuid primary key default gen_random_uuid(),
  shop_id uuid not null references public.shops (id) on delete cascade,
  form_id uuid,
  order_number integer not null check (order_number > 0),
  customer_name text,
  customer_phone text,
  customer_address text,
  customer_ref text,
  line_items jsonb not null default '[]'::jsonb check (jsonb_typeof(line_items) = 'array'),
  subtotal numeric(12, 2) not null default 0 check (subtotal >= 0),
  discount numeric(12, 2) not null default 0 check (discount >= 0),
  shipping_fee numeric(12, 2) not null default 0 check (shipping_fee >= 0),
  total numeric(12, 2) not null default 0 check (total >= 0),
  status public.order_status not null default 'pending',
  payment_status public.payment_status not null default 'unpaid',
  payment_method_id uuid,
  channel public.order_channel not null default 'form',
  conversation_id uuid,
  notes text,
  stock_deducted_at timestamptz,
  stock_restored_at timestamptz,
  submitted_at timestamptz not null default now(),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint form_submissions_shop_id_order_number_key unique (shop_id, order_number),
  constraint form_submissions_form_fkey foreign key (form_id, shop_id)
    references public.forms (id, shop_id) on delete set null (form_id),
  constraint form_submissions_payment_method_fkey foreign key (payment_method_id, shop_id)
    references public.payment_methods (id, shop_id) on delete set null (payment_method_id),
  constraint form_submissions_conversation_fkey foreign key (conversation_id, shop_id)
    references public.conversations (id, shop_id) on delete set null (conversation_id)
);
alter table public.form_submissions enable row level security;
comment on table public.form_submissions is
  'Orders. order_number is assigned per shop by trigger; stock_deducted_at / stock_restored_at are set only by the stock functions.';
comment on column public.form_submissions.line_items is
  'JSON array of {item_id, quantity, unit_price, unit_cost}.';

create index form_submissions_shop_id_submitted_at_idx on public.form_submissions (shop_id, submitted_at);
create index form_submissions_shop_id_status_idx on public.form_submissions (shop_id, status);
create index form_submissions_submitted_at_idx on public.form_submissions (submitted_at);
create index form_submissions_form_id_idx on public.form_submissions (form_id);
create index form_submissions_payment_method_id_idx on public.form_submissions (payment_method_id);
create index form_submissions_conversation_id_idx on public.form_submissions (conversation_id);

create trigger form_submissions_set_updated_at before update on public.form_submissions
  for each row execute function private.set_updated_at();

create table private.order_number_counters (
  shop_id uuid primary key references public.shops (id) on delete cascade,
  last_order_number integer not null
);

create function private.assign_order_number()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  -- security definer: the counter table is private. The upsert takes a row lock
  -- per shop, so concurrent orders of one shop get distinct, increasing numbers.
  -- A number given explicitly (clients cannot: no column grant; restores can)
  -- is kept and the counter moves past it.
  insert into private.order_number_counters as c (shop_id, last_order_number)
  values (new.shop_id, coalesce(new.order_number, 1))
  on conflict (shop_id) do update
    set last_order_number = case
      when new.order_number is null then c.last_order_number + 1
      else greatest(c.last_order_number, new.order_number)
    end
  returning case when new.order_number is null then c.last_order_number else new.order_number end
  into new.order_number;
  return new;
end;
$$;
comment on function private.assign_order_number() is
  'Trigger: gives each new order the next order_number of its shop (1, 2, 3, ...).';

create trigger form_submissions_assign_order_number before insert on public.form_submissions
  for each row execute function private.assign_order_number();

-- ---------------------------------------------------------------------------
-- keyword_replies, saved_replies
-- ---------------------------------------------------------------------------

create table public.keyword_replies (
  id uuid primary key default gen_random_uuid(),
  shop_id uuid not null references public.shops (id) on delete cascade,
  keywords text[] not null check (cardinality(keywords) between 1 and 50),
  match_type public.keyword_match_type not null default 'contains',
  reply text not null check (length(reply) between 1 and 5000),
  priority integer not null default 0,
  is_active boolean not null default true,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
alter table public.keyword_replies enable row level security;
comment on table public.keyword_replies is 'Automated replies sent when a customer message matches a keyword.';

create index keyword_replies_shop_id_idx on public.keyword_replies (shop_id, is_active, priority desc);

create trigger keyword_replies_set_updated_at before update on public.keyword_replies
  for each row execute function private.set_updated_at();

create table public.saved_replies (
  id uuid primary key default gen_random_uuid(),
  shop_id uuid not null references public.shops (id) on delete cascade,
  title text not null check (length(btrim(title)) between 1 and 200),
  content text not null check (length(content) between 1 and 5000),
  shortcut text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint saved_replies_shop_id_shortcut_key unique (shop_id, shortcut)
);
alter table public.saved_replies enable row level security;
comment on table public.saved_replies is 'Quick-reply templates for agents.';

create trigger saved_replies_set_updated_at before update on public.saved_replies
  for each row execute function private.set_updated_at();

-- ---------------------------------------------------------------------------
-- Metrics (written only by the functions of 002)
-- ---------------------------------------------------------------------------

create table public.daily_sales_metrics (
  shop_id uuid not null references public.shops (id) on delete cascade,
  date date not null,
  orders integer not null default 0,
  completed integer not null default 0,
  cancelled integer not null default 0,
  gross_revenue numeric(12, 2) not null default 0,
  discounts numeric(12, 2) not null default 0,
  net_revenue numeric(12, 2) not null default 0,
  cost_of_goods numeric(12, 2) not null default 0,
  gross_profit numeric(12, 2) not null default 0,
  items_sold integer not null default 0,
  average_order_value numeric(12, 2) not null default 0,
  unique_customers integer not null default 0,
  category_breakdown jsonb not null default '{}'::jsonb,
  computed_at timestamptz not null default now(),
  primary key (shop_id, date)
);
alter table public.daily_sales_metrics enable row level security;
comment on table public.daily_sales_metrics is
  'Sales pre-aggregated per shop per local day (the shop''s timezone). Written only by generate_daily_sales_metrics.';

create index daily_sales_metrics_date_idx on public.daily_sales_metrics (date);

create table public.product_analytics (
  shop_id uuid not null references public.shops (id) on delete cascade,
  item_id uuid not null,
  period_start date not null,
  period_end date not null,
  units_sold integer not null default 0,
  revenue numeric(12, 2) not null default 0,
  cost numeric(12, 2) not null default 0,
  profit numeric(12, 2) not null default 0,
  margin_pct numeric(9, 2),
  order_count integer not null default 0,
  stock_at_end integer,
  sell_through_rate numeric(9, 4),
  days_of_cover numeric(12, 2),
  abc_class text check (abc_class in ('A', 'B', 'C')),
  computed_at timestamptz not null default now(),
  primary key (shop_id, item_id, period_start, period_end),
  constraint product_analytics_period_check check (period_end >= period_start),
  constraint product_analytics_item_fkey foreign key (item_id, shop_id)
    references public.items (id, shop_id) on delete cascade
);
alter table public.product_analytics enable row level security;
comment on table public.product_analytics is
  'Per item per period sales analytics. Written only by generate_product_analytics.';

create index product_analytics_item_id_idx on public.product_analytics (item_id, period_start);

create table public.platform_metrics (
  date date primary key,
  gmv numeric(14, 2) not null default 0,
  mrr numeric(12, 2) not null default 0,
  mrr_new numeric(12, 2) not null default 0,
  mrr_expansion numeric(12, 2) not null default 0,
  mrr_contraction numeric(12, 2) not null default 0,
  mrr_churned numeric(12, 2) not null default 0,
  mrr_reactivation numeric(12, 2) not null default 0,
  total_users integer not null default 0,
  new_users integer not null default 0,
  total_shops integer not null default 0,
  active_shops integer not null default 0,
  new_subscriptions integer not null default 0,
  churned_subscriptions integer not null default 0,
  churn_rate numeric(9, 4) not null default 0,
  plan_distribution jsonb not null default '{}'::jsonb,
  total_orders integer not null default 0,
  new_conversations integer not null default 0,
  messages integer not null default 0,
  ai_messages_processed integer not null default 0,
  data_extension_revenue numeric(12, 2) not null default 0,
  data_extension_status jsonb not null default '{}'::jsonb,
  computed_at timestamptz not null default now()
);
alter table public.platform_metrics enable row level security;
comment on table public.platform_metrics is
  'One row per UTC day for the platform admin dashboard. Written only by generate_platform_metrics; read by platform admins only.';

-- ---------------------------------------------------------------------------
-- Backups
-- ---------------------------------------------------------------------------

-- shop_id has no foreign key on purpose: logs and snapshots must outlive the
-- shop they describe (restoring a deleted shop is what they are for).
create table public.backup_logs (
  id uuid primary key default gen_random_uuid(),
  operation text not null default 'backup' check (operation in ('backup', 'restore')),
  backup_type text not null check (backup_type in ('daily', 'weekly', 'manual')),
  shop_id uuid,
  status text not null default 'running' check (status in ('running', 'completed', 'failed')),
  started_at timestamptz not null default now(),
  completed_at timestamptz,
  snapshot_ids uuid[] not null default '{}',
  row_counts jsonb not null default '{}'::jsonb,
  size_bytes bigint check (size_bytes >= 0),
  error_message text,
  triggered_by uuid references public.profiles (id) on delete set null
);
alter table public.backup_logs enable row level security;
comment on table public.backup_logs is
  'Every backup or restore run (shop_id null = all shops). Written only by the backup functions; read by platform admins.';

create index backup_logs_shop_id_started_at_idx on public.backup_logs (shop_id, started_at);
create index backup_logs_started_at_idx on public.backup_logs (started_at);
create index backup_logs_triggered_by_idx on public.backup_logs (triggered_by);

create table public.recovery_snapshots (
  id uuid primary key default gen_random_uuid(),
  shop_id uuid not null,
  snapshot_type text not null check (snapshot_type in ('daily', 'weekly', 'manual', 'pre_restore')),
  data jsonb not null,
  checksum text not null check (checksum ~ '^[0-9a-f]{64}$'),
  row_counts jsonb not null default '{}'::jsonb,
  size_bytes bigint check (size_bytes >= 0),
  backup_log_id uuid references public.backup_logs (id) on delete set null,
  created_by uuid references public.profiles (id) on delete set null,
  created_at timestamptz not null default now(),
  -- now() is the transaction time, so this equals created_at + 90 days
  expires_at timestamptz not null default (now() + interval '90 days'),
  restored_at timestamptz
);
alter table public.recovery_snapshots enable row level security;
comment on table public.recovery_snapshots is
  'Logical point-in-time snapshot of one shop (data: per-table rows; checksum: sha256 hex of the canonical data).';

create index recovery_snapshots_shop_id_created_at_idx on public.recovery_snapshots (shop_id, created_at);
create index recovery_snapshots_expires_at_idx on public.recovery_snapshots (expires_at);
create index recovery_snapshots_backup_log_id_idx on public.recovery_snapshots (backup_log_id);
create index recovery_snapshots_created_by_idx on public.recovery_snapshots (created_by);

-- ---------------------------------------------------------------------------
-- sync_status
-- ---------------------------------------------------------------------------

create table public.sync_status (
  id uuid primary key default gen_random_uuid(),
  shop_id uuid not null references public.shops (id) on delete cascade,
  resource text not null check (length(resource) between 1 and 100),
  target text not null default 'default',
  last_synced_at timestamptz,
  cursor text,
  status public.sync_state not null default 'idle',
  error_message text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint sync_status_shop_resource_target_key unique (shop_id, resource, target)
);
alter table public.sync_status enable row level security;
comment on table public.sync_status is 'Sync bookkeeping per shop, resource and target (region or device).';

create trigger sync_status_set_updated_at before update on public.sync_status
  for each row execute function private.set_updated_at();

-- ---------------------------------------------------------------------------
-- social_integrations (tokens encrypted at rest)
-- ---------------------------------------------------------------------------

create table public.social_integrations (
  id uuid primary key default gen_random_uuid(),
  shop_id uuid not null references public.shops (id) on delete cascade,
  platform public.social_platform not null,
  account_id text not null,
  account_name text,
  -- pgp_sym_encrypt ciphertext; the key is outside the exposed schema.
  access_token bytea,
  refresh_token bytea,
  token_expires_at timestamptz,
  status public.integration_status not null default 'active',
  connected_by uuid default auth.uid() references public.profiles (id) on delete set null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint social_integrations_shop_platform_account_key unique (shop_id, platform, account_id)
);
alter table public.social_integrations enable row level security;
comment on table public.social_integrations is
  'Connected social accounts. access_token / refresh_token hold ciphertext; no client role may select them, '
  'and plaintext is available only through get_social_integration_tokens (service_role).';

create index social_integrations_connected_by_idx on public.social_integrations (connected_by);

create trigger social_integrations_set_updated_at before update on public.social_integrations
  for each row execute function private.set_updated_at();

-- Fallback key store for databases without Supabase Vault (the local stack).
create table private.app_secrets (
  name text primary key,
  secret text not null,
  created_at timestamptz not null default now()
);
comment on table private.app_secrets is
  'Encryption keys when Supabase Vault is absent. Schema private is not exposed and no API role has rights on it.';

do $$
begin
  if to_regclass('vault.decrypted_secrets') is not null then
    if not exists (select 1 from vault.decrypted_secrets where name = 'social_token_key') then
      perform vault.create_secret(
        encode(extensions.gen_random_bytes(32), 'hex'), 'social_token_key',
        'Key of pgp_sym_encrypt for social_integrations tokens');
    end if;
  else
    insert into private.app_secrets (name, secret)
    values ('social_token_key', encode(extensions.gen_random_bytes(32), 'hex'))
    on conflict (name) do nothing;
  end if;
end
$$;

-- The key store is chosen once, when this migration runs: Supabase Vault on a
-- hosted project, private.app_secrets on the local stack.
do $do$
begin
  if to_regclass('vault.decrypted_secrets') is not null then
    execute $fn$
      create function private.social_token_key()
      returns text
      language sql
      stable
      security definer
      set search_path = ''
      as $$
        select ds.decrypted_secret from vault.decrypted_secrets ds where ds.name = 'social_token_key';
      $$
    $fn$;
  else
    execute $fn$
      create function private.social_token_key()
      returns text
      language sql
      stable
      security definer
      set search_path = ''
      as $$
        select s.secret from private.app_secrets s where s.name = 'social_token_key';
      $$
    $fn$;
  end if;
end
$do$;
comment on function private.social_token_key() is
  'security definer: reads the key store (Supabase Vault when present, else private.app_secrets), which no API role can read. '
  'Returns the symmetric key of social_integrations tokens.';

create function public.set_social_integration_tokens(
  p_integration_id uuid,
  p_access_token text,
  p_refresh_token text default null,
  p_token_expires_at timestamptz default null
)
returns void
language plpgsql
security definer
set search_path = ''
as $$
begin
  -- security definer: encrypts with a key the caller cannot read.
  if not (select private.is_trusted_caller()) then
    raise exception using errcode = 'PT403', message = 'forbidden',
      detail = '{}', hint = 'Only the service role may store integration tokens';
  end if;
  if private.social_token_key() is null then
    raise exception using errcode = 'PT500', message = 'internal',
      detail = '{}', hint = 'social_token_key is missing from the key store';
  end if;
  update public.social_integrations si
     set access_token = case when p_access_token is null then null
                        else extensions.pgp_sym_encrypt(p_access_token, private.social_token_key()) end,
         refresh_token = case when p_refresh_token is null then null
                         else extensions.pgp_sym_encrypt(p_refresh_token, private.social_token_key()) end,
         token_expires_at = p_token_expires_at,
         status = 'active'
   where si.id = p_integration_id;
  if not found then
    raise exception using errcode = 'PT404', message = 'not_found',
      detail = pg_catalog.jsonb_build_object('integration_id', p_integration_id)::text,
      hint = 'No such integration';
  end if;
end;
$$;
comment on function public.set_social_integration_tokens(uuid, text, text, timestamptz) is
  'Stores an integration''s tokens encrypted (pgp_sym_encrypt). service_role only; plaintext is never stored.';

create function public.get_social_integration_tokens(p_integration_id uuid)
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v_result jsonb;
begin
  -- security definer: decrypts with a key the caller cannot read.
  if not (select private.is_trusted_caller()) then
    raise exception using errcode = 'PT403', message = 'forbidden',
      detail = '{}', hint = 'Only the service role may read integration tokens';
  end if;
  select pg_catalog.jsonb_build_object(
           'integration_id', si.id,
           'shop_id', si.shop_id,
           'platform', si.platform,
           'account_id', si.account_id,
           'access_token', extensions.pgp_sym_decrypt(si.access_token, private.social_token_key()),
           'refresh_token', extensions.pgp_sym_decrypt(si.refresh_token, private.social_token_key()),
           'token_expires_at', si.token_expires_at)
    into v_result
    from public.social_integrations si
   where si.id = p_integration_id;
  if v_result is null then
    raise exception using errcode = 'PT404', message = 'not_found',
      detail = pg_catalog.jsonb_build_object('integration_id', p_integration_id)::text,
      hint = 'No such integration';
  end if;
  return v_result;
end;
$$;
comment on function public.get_social_integration_tokens(uuid) is
  'Decrypted tokens of one integration: {integration_id, shop_id, platform, account_id, access_token, refresh_token, token_expires_at}. service_role only.';

-- ---------------------------------------------------------------------------
-- data_extensions
-- ---------------------------------------------------------------------------

create table public.data_extensions (
  id uuid primary key default gen_random_uuid(),
  shop_id uuid not null references public.shops (id) on delete cascade,
  kind text not null check (length(kind) between 1 and 100),
  amount numeric(12, 2) not null default 0 check (amount >= 0),
  currency char(3) not null default 'USD' check (currency ~ '^[A-Z]{3}$'),
  status public.data_extension_status not null default 'pending',
  starts_at timestamptz,
  ends_at timestamptz,
  reviewed_by uuid references public.profiles (id) on delete set null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint data_extensions_period_check check (ends_at is null or starts_at is null or ends_at > starts_at)
);
alter table public.data_extensions enable row level security;
comment on table public.data_extensions is
  'Paid add-ons. Shop admins request them (status pending); platform admins activate or reject them.';

create index data_extensions_shop_id_starts_at_idx on public.data_extensions (shop_id, starts_at);
create index data_extensions_status_idx on public.data_extensions (status, starts_at);
create index data_extensions_reviewed_by_idx on public.data_extensions (reviewed_by);

create trigger data_extensions_set_updated_at before update on public.data_extensions
  for each row execute function private.set_updated_at();

-- ---------------------------------------------------------------------------
-- subscription_events (written only by trigger)
-- ---------------------------------------------------------------------------

create table public.subscription_events (
  id bigint generated always as identity primary key,
  shop_id uuid not null references public.shops (id) on delete cascade,
  occurred_at timestamptz not null default now(),
  kind public.subscription_event_kind not null,
  plan public.subscription_plan not null,
  status public.subscription_status not null,
  billing_interval public.billing_interval not null,
  previous_mrr numeric(12, 2) not null check (previous_mrr >= 0),
  new_mrr numeric(12, 2) not null check (new_mrr >= 0),
  constraint subscription_events_moves_check check (previous_mrr <> new_mrr)
);
alter table public.subscription_events enable row level security;
comment on table public.subscription_events is
  'MRR movements ledger. Written only by the trigger on shops'' subscription columns; no role may insert or change it.';

create index subscription_events_shop_id_occurred_at_idx on public.subscription_events (shop_id, occurred_at);
create index subscription_events_occurred_at_idx on public.subscription_events (occurred_at);

create function private.monthly_recurring_revenue(
  p_plan public.subscription_plan,
  p_status public.subscription_status,
  p_amount numeric,
  p_interval public.billing_interval
)
returns numeric
language sql
immutable
set search_path = ''
as $$
  select case
    when p_plan = 'free' or p_status not in ('active', 'past_due') then 0::numeric
    when p_interval = 'year' then round(coalesce(p_amount, 0) / 12, 2)
    else round(coalesce(p_amount, 0), 2)
  end;
$$;
comment on function private.monthly_recurring_revenue(public.subscription_plan, public.subscription_status, numeric, public.billing_interval) is
  'A shop''s MRR: the amount normalized to a month (yearly / 12) when paying (active or past_due, not free); else 0.';

create function private.record_subscription_event()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_previous numeric := 0;
  v_new numeric;
  v_kind public.subscription_event_kind;
begin
  -- security definer: subscription_events grants no insert to any API role.
  if tg_op = 'UPDATE' then
    v_previous := private.monthly_recurring_revenue(
      old.subscription_plan, old.subscription_status, old.subscription_amount, old.billing_interval);
  end if;
  v_new := private.monthly_recurring_revenue(
    new.subscription_plan, new.subscription_status, new.subscription_amount, new.billing_interval);

  if v_new = v_previous then
    return null;
  elsif v_previous = 0 then
    v_kind := case
      when exists (select 1 from public.subscription_events e where e.shop_id = new.id and e.new_mrr > 0)
        then 'reactivation'
      else 'new'
    end;
  elsif v_new = 0 then
    v_kind := 'churn';
  elsif v_new > v_previous then
    v_kind := 'expansion';
  else
    v_kind := 'contraction';
  end if;

  insert into public.subscription_events
    (shop_id, kind, plan, status, billing_interval, previous_mrr, new_mrr)
  values
    (new.id, v_kind, new.subscription_plan, new.subscription_status, new.billing_interval, v_previous, v_new);
  return null;
end;
$$;
comment on function private.record_subscription_event() is
  'Trigger: appends one subscription_events row whenever a shop''s MRR changes (new, expansion, contraction, churn, reactivation).';

create trigger shops_record_subscription_event
  after insert or update of subscription_plan, subscription_status, subscription_amount, billing_interval
  on public.shops
  for each row execute function private.record_subscription_event();

-- ---------------------------------------------------------------------------
-- idempotency_keys (written only by mutating functions)
-- ---------------------------------------------------------------------------

create table public.idempotency_keys (
  id bigint generated always as identity primary key,
  key text not null check (length(key) between 1 and 255),
  shop_id uuid references public.shops (id) on delete cascade,
  action text not null,
  request_hash text not null,
  response jsonb,
  created_at timestamptz not null default now(),
  -- shop_id is null for platform-wide actions; those keys are unique too.
  constraint idempotency_keys_shop_id_key_key unique nulls not distinct (shop_id, key)
);
alter table public.idempotency_keys enable row level security;
comment on table public.idempotency_keys is
  'Stored responses of mutating functions by (shop_id, key); purged after 24 h. No client role can read or write it.';

create index idempotency_keys_created_at_idx on public.idempotency_keys (created_at);

-- ---------------------------------------------------------------------------
-- Triggers that create rows for the user
-- ---------------------------------------------------------------------------

create function private.handle_new_user()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  -- security definer: runs as part of auth's insert, which cannot write public.profiles.
  -- full_name / avatar_url come from user metadata for display only, never for authorization.
  insert into public.profiles (id, email, full_name, avatar_url)
  values (new.id, new.email,
          new.raw_user_meta_data ->> 'full_name', new.raw_user_meta_data ->> 'avatar_url')
  on conflict (id) do nothing;
  return null;
end;
$$;
comment on function private.handle_new_user() is
  'Trigger on auth.users: every user gets a profile; is_platform_admin always starts false.';

create trigger on_auth_user_created after insert on auth.users
  for each row execute function private.handle_new_user();

create function private.sync_profile_email()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  -- security definer: auth's update cannot write public.profiles.
  update public.profiles p set email = new.email where p.id = new.id;
  return null;
end;
$$;
comment on function private.sync_profile_email() is
  'Trigger on auth.users: profiles.email follows the user''s email.';

create trigger on_auth_user_email_changed after update of email on auth.users
  for each row when (old.email is distinct from new.email)
  execute function private.sync_profile_email();

create function private.handle_new_shop()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  -- security definer: the creator is not a member yet, so team_members policies would refuse.
  insert into public.team_members (shop_id, user_id, role, invited_by)
  values (new.id, new.owner_id, 'owner', null)
  on conflict (shop_id, user_id) do update set role = 'owner';
  return null;
end;
$$;
comment on function private.handle_new_shop() is
  'Trigger: a new shop''s owner becomes its member with role owner.';

create trigger shops_add_owner_member after insert on public.shops
  for each row execute function private.handle_new_shop();

create function private.protect_shop_owner_membership()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  -- security definer: must see the shop row whatever the caller may read.
  -- While the shop itself is being deleted its row is gone and this allows the cascade.
  if exists (select 1 from public.shops s where s.id = old.shop_id and s.owner_id = old.user_id)
     and (tg_op = 'DELETE' or new.role <> 'owner' or new.user_id <> old.user_id or new.shop_id <> old.shop_id) then
    raise exception using errcode = 'PT409', message = 'conflict',
      detail = pg_catalog.jsonb_build_object('shop_id', old.shop_id, 'user_id', old.user_id)::text,
      hint = 'The shop owner''s membership cannot be removed or demoted';
  end if;
  return case when tg_op = 'DELETE' then old else new end;
end;
$$;
comment on function private.protect_shop_owner_membership() is
  'Trigger: a shop always keeps its owner as an owner member.';

create trigger team_members_protect_owner before update or delete on public.team_members
  for each row execute function private.protect_shop_owner_membership();

-- ---------------------------------------------------------------------------
-- RLS policies: one per operation, all `to authenticated`. anon has none, so
-- it sees nothing; service_role bypasses RLS (Supabase semantics).
-- ---------------------------------------------------------------------------

-- profiles: yourself, people you share a shop with, and platform admins.
create policy profiles_select on public.profiles for select to authenticated
  using (
    id = (select auth.uid())
    or (select private.is_platform_admin())
    or (select private.shares_shop_with(id))
  );
create policy profiles_update on public.profiles for update to authenticated
  using (id = (select auth.uid()))
  with check (id = (select auth.uid()));

-- shops
create policy shops_select on public.shops for select to authenticated
  using (
    owner_id = (select auth.uid())
    or (select private.is_shop_member(id))
    or (select private.is_platform_admin())
  );
create policy shops_insert on public.shops for insert to authenticated
  with check (owner_id = (select auth.uid()));
create policy shops_update on public.shops for update to authenticated
  using ((select private.has_shop_role(id, 'admin')))
  with check ((select private.has_shop_role(id, 'admin')));
create policy shops_delete on public.shops for delete to authenticated
  using ((select private.has_shop_role(id, 'owner')));

-- team_members: admins manage non-owner members; owners manage everyone.
create policy team_members_select on public.team_members for select to authenticated
  using ((select private.is_shop_member(shop_id)) or (select private.is_platform_admin()));
create policy team_members_insert on public.team_members for insert to authenticated
  with check (
    invited_by = (select auth.uid())
    and ((select private.has_shop_role(shop_id, 'owner'))
         or (role < 'owner' and (select private.has_shop_role(shop_id, 'admin'))))
  );
create policy team_members_update on public.team_members for update to authenticated
  using (
    (select private.has_shop_role(shop_id, 'owner'))
    or (role < 'owner' and (select private.has_shop_role(shop_id, 'admin')))
  )
  with check (
    (select private.has_shop_role(shop_id, 'owner'))
    or (role < 'owner' and (select private.has_shop_role(shop_id, 'admin')))
  );
create policy team_members_delete on public.team_members for delete to authenticated
  using (
    (select private.has_shop_role(shop_id, 'owner'))
    or (role < 'owner' and (select private.has_shop_role(shop_id, 'admin')))
  );

-- Shop-scoped tables with the same shape: members read; a minimum role writes.
-- items, forms, payment_methods, keyword_replies, saved_replies: admin writes.
create policy items_select on public.items for select to authenticated
  using ((select private.is_shop_member(shop_id)));
create policy items_insert on public.items for insert to authenticated
  with check ((select private.has_shop_role(shop_id, 'admin')));
create policy items_update on public.items for update to authenticated
  using ((select private.has_shop_role(shop_id, 'admin')))
  with check ((select private.has_shop_role(shop_id, 'admin')));
create policy items_delete on public.items for delete to authenticated
  using ((select private.has_shop_role(shop_id, 'admin')));

create policy forms_select on public.forms for select to authenticated
  using ((select private.is_shop_member(shop_id)));
create policy forms_insert on public.forms for insert to authenticated
  with check ((select private.has_shop_role(shop_id, 'admin')));
create policy forms_update on public.forms for update to authenticated
  using ((select private.has_shop_role(shop_id, 'admin')))
  with check ((select private.has_shop_role(shop_id, 'admin')));
create policy forms_delete on public.forms for delete to authenticated
  using ((select private.has_shop_role(shop_id, 'admin')));

create policy payment_methods_select on public.payment_methods for select to authenticated
  using ((select private.is_shop_member(shop_id)));
create policy payment_methods_insert on public.payment_methods for insert to authenticated
  with check ((select private.has_shop_role(shop_id, 'admin')));
create policy payment_methods_update on public.payment_methods for update to authenticated
  using ((select private.has_shop_role(shop_id, 'admin')))
  with check ((select private.has_shop_role(shop_id, 'admin')));
create policy payment_methods_delete on public.payment_methods for delete to authenticated
  using ((select private.has_shop_role(shop_id, 'admin')));

create policy keyword_replies_select on public.keyword_replies for select to authenticated
  using ((select private.is_shop_member(shop_id)));
create policy keyword_replies_insert on public.keyword_replies for insert to authenticated
  with check ((select private.has_shop_role(shop_id, 'admin')));
create policy keyword_replies_update on public.keyword_replies for update to authenticated
  using ((select private.has_shop_role(shop_id, 'admin')))
  with check ((select private.has_shop_role(shop_id, 'admin')));
create policy keyword_replies_delete on public.keyword_replies for delete to authenticated
  using ((select private.has_shop_role(shop_id, 'admin')));

create policy saved_replies_select on public.saved_replies for select to authenticated
  using ((select private.is_shop_member(shop_id)));
create policy saved_replies_insert on public.saved_replies for insert to authenticated
  with check ((select private.has_shop_role(shop_id, 'admin')));
create policy saved_replies_update on public.saved_replies for update to authenticated
  using ((select private.has_shop_role(shop_id, 'admin')))
  with check ((select private.has_shop_role(shop_id, 'admin')));
create policy saved_replies_delete on public.saved_replies for delete to authenticated
  using ((select private.has_shop_role(shop_id, 'admin')));

-- social_integrations: admins connect and manage; token columns are not granted.
create policy social_integrations_select on public.social_integrations for select to authenticated
  using ((select private.is_shop_member(shop_id)));
create policy social_integrations_insert on public.social_integrations for insert to authenticated
  with check ((select private.has_shop_role(shop_id, 'admin')));
create policy social_integrations_update on public.social_integrations for update to authenticated
  using ((select private.has_shop_role(shop_id, 'admin')))
  with check ((select private.has_shop_role(shop_id, 'admin')));
create policy social_integrations_delete on public.social_integrations for delete to authenticated
  using ((select private.has_shop_role(shop_id, 'admin')));

-- Orders, conversations, messages, sync bookkeeping: staff create and update; admins delete.
create policy form_submissions_select on public.form_submissions for select to authenticated
  using ((select private.is_shop_member(shop_id)));
create policy form_submissions_insert on public.form_submissions for insert to authenticated
  with check ((select private.has_shop_role(shop_id, 'staff')));
create policy form_submissions_update on public.form_submissions for update to authenticated
  using ((select private.has_shop_role(shop_id, 'staff')))
  with check ((select private.has_shop_role(shop_id, 'staff')));
create policy form_submissions_delete on public.form_submissions for delete to authenticated
  using ((select private.has_shop_role(shop_id, 'admin')));

create policy conversations_select on public.conversations for select to authenticated
  using ((select private.is_shop_member(shop_id)));
create policy conversations_insert on public.conversations for insert to authenticated
  with check ((select private.has_shop_role(shop_id, 'staff')));
create policy conversations_update on public.conversations for update to authenticated
  using ((select private.has_shop_role(shop_id, 'staff')))
  with check ((select private.has_shop_role(shop_id, 'staff')));
create policy conversations_delete on public.conversations for delete to authenticated
  using ((select private.has_shop_role(shop_id, 'admin')));

create policy messages_select on public.messages for select to authenticated
  using ((select private.is_shop_member(shop_id)));
create policy messages_insert on public.messages for insert to authenticated
  with check ((select private.has_shop_role(shop_id, 'staff')));
create policy messages_update on public.messages for update to authenticated
  using ((select private.has_shop_role(shop_id, 'staff')))
  with check ((select private.has_shop_role(shop_id, 'staff')));
create policy messages_delete on public.messages for delete to authenticated
  using ((select private.has_shop_role(shop_id, 'admin')));

create policy sync_status_select on public.sync_status for select to authenticated
  using ((select private.is_shop_member(shop_id)));
create policy sync_status_insert on public.sync_status for insert to authenticated
  with check ((select private.has_shop_role(shop_id, 'staff')));
create policy sync_status_update on public.sync_status for update to authenticated
  using ((select private.has_shop_role(shop_id, 'staff')))
  with check ((select private.has_shop_role(shop_id, 'staff')));
create policy sync_status_delete on public.sync_status for delete to authenticated
  using ((select private.has_shop_role(shop_id, 'admin')));

-- Read-only for members: written by functions (security definer) only.
create policy stock_history_select on public.stock_history for select to authenticated
  using ((select private.is_shop_member(shop_id)));
create policy daily_sales_metrics_select on public.daily_sales_metrics for select to authenticated
  using ((select private.is_shop_member(shop_id)));
create policy product_analytics_select on public.product_analytics for select to authenticated
  using ((select private.is_shop_member(shop_id)));

-- Platform-admin reads.
create policy platform_metrics_select on public.platform_metrics for select to authenticated
  using ((select private.is_platform_admin()));
create policy backup_logs_select on public.backup_logs for select to authenticated
  using ((select private.is_platform_admin()));
create policy recovery_snapshots_select on public.recovery_snapshots for select to authenticated
  using ((select private.is_platform_admin()));
create policy subscription_events_select on public.subscription_events for select to authenticated
  using ((select private.is_platform_admin()) or (select private.has_shop_role(shop_id, 'owner')));

-- data_extensions: members see theirs; shop admins request (pending only);
-- platform admins review. Nobody deletes: it is billing history.
create policy data_extensions_select on public.data_extensions for select to authenticated
  using ((select private.is_shop_member(shop_id)) or (select private.is_platform_admin()));
create policy data_extensions_insert on public.data_extensions for insert to authenticated
  with check (status = 'pending' and (select private.has_shop_role(shop_id, 'admin')));
create policy data_extensions_update on public.data_extensions for update to authenticated
  using ((select private.is_platform_admin()))
  with check ((select private.is_platform_admin()));

-- idempotency_keys: no policy; only security definer functions and service_role touch it.

-- ---------------------------------------------------------------------------
-- Grants: deny by default, then exactly what the policies above need.
-- ---------------------------------------------------------------------------

revoke all on all tables in schema public from anon, authenticated, service_role;
revoke all on all sequences in schema public from anon, authenticated, service_role;
revoke all on all tables in schema private from public, anon, authenticated, service_role;

-- New objects in public are no longer granted to the API roles automatically:
-- later migrations grant what they mean to, like this one.
alter default privileges for role postgres in schema public
  revoke all on tables from anon, authenticated;
alter default privileges for role postgres in schema public
  revoke all on sequences from anon, authenticated;
alter default privileges for role postgres in schema public
  revoke execute on functions from public, anon, authenticated;
alter default privileges for role postgres in schema private
  revoke execute on functions from public;

grant usage on schema private to authenticated, service_role;

-- service_role: operator-level work (RLS bypassed), except ledgers nobody rewrites.
grant select, insert, update, delete on all tables in schema public to service_role;
revoke insert, update, delete on public.subscription_events from service_role;
revoke update, delete on public.stock_history from service_role;

-- authenticated, table by table. Inserts may carry the row's id: a client that
-- retries a create with the same id gets a conflict instead of a duplicate.
grant select on public.profiles to authenticated;
grant update (full_name, avatar_url) on public.profiles to authenticated;

grant select, delete on public.shops to authenticated;
grant insert (id, owner_id, name, slug, currency, timezone, default_low_stock_threshold) on public.shops to authenticated;
grant update (name, slug, currency, timezone, default_low_stock_threshold) on public.shops to authenticated;

grant select, delete on public.team_members to authenticated;
grant insert (id, shop_id, user_id, role, invited_by) on public.team_members to authenticated;
grant update (role) on public.team_members to authenticated;

grant select, delete on public.items to authenticated;
grant insert (id, shop_id, type, name, description, sku, category, price, cost, track_stock, stock,
              low_stock_threshold, is_active, image_url) on public.items to authenticated;
-- no stock: stock moves only through update_stock / order functions, which log history.
grant update (type, name, description, sku, category, price, cost, track_stock,
              low_stock_threshold, is_active, image_url) on public.items to authenticated;

grant select on public.stock_history to authenticated;

grant select, delete on public.forms to authenticated;
grant insert (id, shop_id, name, slug, description, fields, is_active) on public.forms to authenticated;
grant update (name, slug, description, fields, is_active) on public.forms to authenticated;

-- order_number, stock_deducted_at, stock_restored_at are set by triggers/functions only.
grant select, delete on public.form_submissions to authenticated;
grant insert (id, shop_id, form_id, customer_name, customer_phone, customer_address, customer_ref, line_items,
              subtotal, discount, shipping_fee, total, status, payment_status, payment_method_id, channel,
              conversation_id, notes, submitted_at) on public.form_submissions to authenticated;
grant update (form_id, customer_name, customer_phone, customer_address, customer_ref, line_items,
              subtotal, discount, shipping_fee, total, status, payment_status, payment_method_id, channel,
              conversation_id, notes) on public.form_submissions to authenticated;

grant select, delete on public.payment_methods to authenticated;
grant insert (id, shop_id, type, provider, account_name, account_number, instructions, is_active)
  on public.payment_methods to authenticated;
grant update (type, provider, account_name, account_number, instructions, is_active)
  on public.payment_methods to authenticated;

grant select, delete on public.conversations to authenticated;
grant insert (id, shop_id, platform, external_id, customer_name, customer_ref, status, ai_enabled, assigned_to)
  on public.conversations to authenticated;
grant update (customer_name, customer_ref, status, ai_enabled, assigned_to)
  on public.conversations to authenticated;

grant select, delete on public.messages to authenticated;
grant insert (id, conversation_id, shop_id, sender_type, sender_id, content, is_ai_generated)
  on public.messages to authenticated;
grant update (content) on public.messages to authenticated;

grant select, delete on public.keyword_replies to authenticated;
grant insert (id, shop_id, keywords, match_type, reply, priority, is_active) on public.keyword_replies to authenticated;
grant update (keywords, match_type, reply, priority, is_active) on public.keyword_replies to authenticated;

grant select, delete on public.saved_replies to authenticated;
grant insert (id, shop_id, title, content, shortcut) on public.saved_replies to authenticated;
grant update (title, content, shortcut) on public.saved_replies to authenticated;

grant select on public.daily_sales_metrics, public.product_analytics, public.platform_metrics,
  public.backup_logs, public.recovery_snapshots, public.subscription_events to authenticated;

grant select, delete on public.sync_status to authenticated;
grant insert (id, shop_id, resource, target, last_synced_at, cursor, status, error_message)
  on public.sync_status to authenticated;
grant update (last_synced_at, cursor, status, error_message) on public.sync_status to authenticated;

-- Every column but the token ciphertexts.
grant select (id, shop_id, platform, account_id, account_name, token_expires_at, status, connected_by,
              created_at, updated_at) on public.social_integrations to authenticated;
grant delete on public.social_integrations to authenticated;
grant insert (id, shop_id, platform, account_id, account_name, status) on public.social_integrations to authenticated;
grant update (account_name, status) on public.social_integrations to authenticated;

grant select on public.data_extensions to authenticated;
grant insert (id, shop_id, kind, amount, currency, starts_at, ends_at) on public.data_extensions to authenticated;
grant update (status, starts_at, ends_at, reviewed_by) on public.data_extensions to authenticated;

-- Functions: nobody by default; the RLS helpers to the roles whose policies
-- call them; the token functions to service_role only.
revoke execute on all functions in schema public from public, anon, authenticated;
revoke execute on all functions in schema private from public, anon, authenticated;
grant execute on function
  private.is_shop_member(uuid),
  private.has_shop_role(uuid, public.team_role),
  private.is_platform_admin(),
  private.shares_shop_with(uuid),
  private.is_trusted_caller()
  to authenticated, service_role;
grant execute on function private.monthly_recurring_revenue(
  public.subscription_plan, public.subscription_status, numeric, public.billing_interval) to service_role;
grant execute on function
  public.set_social_integration_tokens(uuid, text, text, timestamptz),
  public.get_social_integration_tokens(uuid)
  to service_role;
