-- billing_platform_metrics: what the platform bills and measures. Shops'
-- subscription columns (tenancy) feed the subscription_events ledger; paid
-- add-ons are data_extensions; platform_metrics holds one row of platform-wide
-- numbers (GMV, MRR and its movements, counts) per day.

-- ---------------------------------------------------------------------------
-- platform_metrics
-- ---------------------------------------------------------------------------

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
-- RLS policies
-- ---------------------------------------------------------------------------

-- Platform admins read the platform's numbers; a shop's owners read its ledger too.
create policy platform_metrics_select on public.platform_metrics for select to authenticated
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

-- ---------------------------------------------------------------------------
-- Grants
-- ---------------------------------------------------------------------------

-- subscription_events is the platform's ledger: nobody rewrites it, not even
-- service_role (the trigger above writes it as the owner).
grant select on public.subscription_events to service_role;
grant select, insert, update, delete on public.data_extensions, public.platform_metrics to service_role;

grant select on public.platform_metrics, public.subscription_events to authenticated;

grant select on public.data_extensions to authenticated;
grant insert (id, shop_id, kind, amount, currency, starts_at, ends_at) on public.data_extensions to authenticated;
grant update (status, starts_at, ends_at, reviewed_by) on public.data_extensions to authenticated;

grant execute on function private.monthly_recurring_revenue(
  public.subscription_plan, public.subscription_status, numeric, public.billing_interval) to service_role;

-- ---------------------------------------------------------------------------
-- Platform metrics
-- ---------------------------------------------------------------------------

create function public.generate_platform_metrics(p_date date default null)
returns jsonb
language plpgsql
volatile
-- security definer: reads every shop's orders, messages and subscriptions and
-- writes platform_metrics, which no client role may touch directly; the
-- caller is checked first.
security definer
set search_path = ''
as $$
declare
  v_date date := coalesce(p_date, (now() at time zone 'utc')::date - 1);
  -- the UTC day [v_day_start, v_day_end) and the 30-day churn window
  -- [v_window_start, v_day_end) ending with it
  v_day_start timestamptz;
  v_day_end timestamptz;
  v_window_start timestamptz;
  v_paying_at_window_start integer;
  v_started_in_window integer;
  v_churned_in_window integer;
  v_row public.platform_metrics;
begin
  perform private.assert_platform_operator('generate_platform_metrics');

  if v_date > (now() at time zone 'utc')::date then
    perform private.raise_api_error(400, 'invalid_request',
      jsonb_build_object('field', 'date', 'date', v_date),
      'Platform metrics cannot be generated for a future day.');
  end if;

  v_day_start := v_date::timestamp at time zone 'utc';
  v_day_end := (v_date + 1)::timestamp at time zone 'utc';
  v_window_start := (v_date - 29)::timestamp at time zone 'utc';

  -- Subscriber churn rate (Stripe's definition): churn events in the 30 days
  -- ending this day / (subscribers paying when the window opened + subscribers
  -- who started paying during it, new or reactivated). Every churn in the
  -- window follows one of those starts, so the rate stays within [0, 1].
  select count(*)::integer
    into v_paying_at_window_start
  from (
    select distinct on (e.shop_id) e.new_mrr
    from public.subscription_events e
    where e.occurred_at < v_window_start
    order by e.shop_id, e.occurred_at desc, e.id desc
  ) latest
  where latest.new_mrr > 0;

  select
    count(*) filter (where e.kind in ('new', 'reactivation'))::integer,
    count(*) filter (where e.kind = 'churn')::integer
    into v_started_in_window, v_churned_in_window
  from public.subscription_events e
  where e.occurred_at >= v_window_start and e.occurred_at < v_day_end;

  insert into public.platform_metrics as m (
    date, gmv, mrr, mrr_new, mrr_expansion, mrr_contraction, mrr_churned,
    mrr_reactivation, total_users, new_users, total_shops, active_shops,
    new_subscriptions, churned_subscriptions, churn_rate, plan_distribution,
    total_orders, new_conversations, messages, ai_messages_processed,
    data_extension_revenue, data_extension_status, computed_at
  )
  select
    v_date,
    orders.gmv,
    mrr.mrr,
    movements.mrr_new,
    movements.mrr_expansion,
    movements.mrr_contraction,
    movements.mrr_churned,
    movements.mrr_reactivation,
    users.total_users,
    users.new_users,
    shops.total_shops,
    activity.active_shops,
    movements.new_subscriptions,
    movements.churned_subscriptions,
    case
      when v_paying_at_window_start + v_started_in_window = 0 then 0
      else round(v_churned_in_window::numeric / (v_paying_at_window_start + v_started_in_window), 4)
    end,
    shops.plan_distribution,
    orders.total_orders,
    chats.new_conversations,
    chats.messages,
    chats.ai_messages_processed,
    extensions.revenue,
    extensions.status_counts,
    now()
  from
    -- GMV: value of the orders placed that day that reached delivered or
    -- completed; total_orders counts every order placed that day.
    (
      select
        coalesce(sum(o.total) filter (where o.status in ('delivered', 'completed')), 0)::numeric(14, 2) as gmv,
        count(*)::integer as total_orders
      from public.form_submissions o
      where o.submitted_at >= v_day_start and o.submitted_at < v_day_end
    ) orders,
    -- MRR at the end of the day: each shop's monthly-normalised MRR as left by
    -- its latest subscription event (the ledger applies the rule: active or
    -- past_due, plan not free, trials excluded, yearly / 12).
    (
      select coalesce(sum(latest.new_mrr), 0)::numeric(14, 2) as mrr
      from (
        select distinct on (e.shop_id) e.new_mrr
        from public.subscription_events e
        where e.occurred_at < v_day_end
        order by e.shop_id, e.occurred_at desc, e.id desc
      ) latest
    ) mrr,
    -- ChartMogul's five movement types, each as a positive amount.
    (
      select
        coalesce(sum(e.new_mrr) filter (where e.kind = 'new'), 0)::numeric(14, 2) as mrr_new,
        coalesce(sum(e.new_mrr - e.previous_mrr) filter (where e.kind = 'expansion'), 0)::numeric(14, 2) as mrr_expansion,
        coalesce(sum(e.previous_mrr - e.new_mrr) filter (where e.kind = 'contraction'), 0)::numeric(14, 2) as mrr_contraction,
        coalesce(sum(e.previous_mrr) filter (where e.kind = 'churn'), 0)::numeric(14, 2) as mrr_churned,
        coalesce(sum(e.new_mrr) filter (where e.kind = 'reactivation'), 0)::numeric(14, 2) as mrr_reactivation,
        count(*) filter (where e.kind in ('new', 'reactivation'))::integer as new_subscriptions,
        count(*) filter (where e.kind = 'churn')::integer as churned_subscriptions
      from public.subscription_events e
      where e.occurred_at >= v_day_start and e.occurred_at < v_day_end
    ) movements,
    (
      select
        count(*)::integer as total_users,
        count(*) filter (where p.created_at >= v_day_start)::integer as new_users
      from public.profiles p
      where p.created_at < v_day_end
    ) users,
    (
      select
        count(*)::integer as total_shops,
        coalesce(
          (select jsonb_object_agg(plans.subscription_plan, plans.shops)
           from (
             select s2.subscription_plan::text as subscription_plan, count(*)::integer as shops
             from public.shops s2
             where s2.created_at < v_day_end
             group by s2.subscription_plan
           ) plans),
          '{}'::jsonb
        ) as plan_distribution
      from public.shops s
      where s.created_at < v_day_end
    ) shops,
    -- A shop is active on a day when it received an order or a chat message.
    (
      select count(*)::integer as active_shops
      from (
        select o.shop_id
        from public.form_submissions o
        where o.submitted_at >= v_day_start and o.submitted_at < v_day_end
        union
        select msg.shop_id
        from public.messages msg
        where msg.created_at >= v_day_start and msg.created_at < v_day_end
      ) active
    ) activity,
    (
      select
        (select count(*)::integer from public.conversations c
         where c.created_at >= v_day_start and c.created_at < v_day_end) as new_conversations,
        count(*)::integer as messages,
        count(*) filter (where msg.is_ai_generated)::integer as ai_messages_processed
      from public.messages msg
      where msg.created_at >= v_day_start and msg.created_at < v_day_end
    ) chats,
    -- Data extensions: revenue of the add-ons that started that day and were
    -- accepted (active, or already expired); status counts over every add-on
    -- created by the end of the day.
    (
      select
        coalesce(sum(x.amount) filter (
          where x.status in ('active', 'expired')
            and x.starts_at >= v_day_start and x.starts_at < v_day_end
        ), 0)::numeric(14, 2) as revenue,
        jsonb_build_object(
          'pending', count(*) filter (where x.status = 'pending'),
          'active', count(*) filter (where x.status = 'active'),
          'expired', count(*) filter (where x.status = 'expired'),
          'rejected', count(*) filter (where x.status = 'rejected')
        ) as status_counts
      from public.data_extensions x
      where x.created_at < v_day_end
    ) extensions
  on conflict (date) do update set
    gmv = excluded.gmv,
    mrr = excluded.mrr,
    mrr_new = excluded.mrr_new,
    mrr_expansion = excluded.mrr_expansion,
    mrr_contraction = excluded.mrr_contraction,
    mrr_churned = excluded.mrr_churned,
    mrr_reactivation = excluded.mrr_reactivation,
    total_users = excluded.total_users,
    new_users = excluded.new_users,
    total_shops = excluded.total_shops,
    active_shops = excluded.active_shops,
    new_subscriptions = excluded.new_subscriptions,
    churned_subscriptions = excluded.churned_subscriptions,
    churn_rate = excluded.churn_rate,
    plan_distribution = excluded.plan_distribution,
    total_orders = excluded.total_orders,
    new_conversations = excluded.new_conversations,
    messages = excluded.messages,
    ai_messages_processed = excluded.ai_messages_processed,
    data_extension_revenue = excluded.data_extension_revenue,
    data_extension_status = excluded.data_extension_status,
    computed_at = excluded.computed_at
  returning m.* into v_row;

  return to_jsonb(v_row);
end;
$$;

comment on function public.generate_platform_metrics(date) is
  'Upserts the platform_metrics row of one UTC day (default: yesterday) and returns it. '
  'Re-running it for the same day gives the same numbers (only computed_at moves), so late or edited data is picked up. '
  'MRR = sum over shops of the monthly-normalised MRR left by their latest subscription event at the end of the day '
  '(active or past_due, plan not free, trials excluded, yearly / 12); movements are ChartMogul''s new / expansion / '
  'contraction / churn / reactivation as positive amounts; churn_rate = churn events in the 30 days ending that day / '
  '(shops paying when the window opened + new or reactivated subscriptions in it), a fraction in [0, 1]. '
  'GMV = totals of the orders placed that day that are delivered or completed. '
  'Trusted callers and platform admins only (PT403 forbidden otherwise); a future day is PT400 invalid_request.';

create function public.get_platform_stats(p_start date default null, p_end date default null)
returns jsonb
language plpgsql
stable
-- invoker's rights: RLS lets platform admins read platform_metrics and
-- service_role bypasses it; the explicit check gives others a clear forbidden.
set search_path = ''
as $$
declare
  v_end date := coalesce(p_end, (now() at time zone 'utc')::date - 1);
  v_start date := coalesce(p_start, v_end - 29);
begin
  perform private.assert_platform_operator('get_platform_stats');

  if v_start > v_end or v_end - v_start > 365 then
    perform private.raise_api_error(400, 'invalid_request',
      jsonb_build_object('field', 'start_date', 'start_date', v_start, 'end_date', v_end),
      'The range must start on or before its end and span at most 366 days.');
  end if;

  return jsonb_build_object(
    'days', coalesce(
      (select jsonb_agg(to_jsonb(m) order by m.date)
       from public.platform_metrics m
       where m.date between v_start and v_end),
      '[]'::jsonb
    ),
    -- the balances (MRR, totals) as of the newest day computed in the range
    'latest', (
      select to_jsonb(m)
      from public.platform_metrics m
      where m.date between v_start and v_end
      order by m.date desc
      limit 1
    )
  );
end;
$$;

comment on function public.get_platform_stats(date, date) is
  'Returns {days: [platform_metrics rows from p_start to p_end, oldest first], latest: the newest of those rows or null}. '
  'Defaults: p_end = yesterday (UTC), p_start = p_end - 29. Range at most 366 days (PT400 invalid_request otherwise). '
  'Read-only. Trusted callers and platform admins only (PT403 forbidden otherwise).';

-- Platform admins call these as authenticated users, jobs as service_role
-- or the owner; the functions check the caller themselves.
grant execute on function
  public.generate_platform_metrics(date),
  public.get_platform_stats(date, date)
  to authenticated, service_role;

-- Postgres lets PUBLIC execute every new function: revoked, so that only the
-- grants above remain.
revoke execute on all functions in schema public, private from public;
