-- platform_metrics_from_aggregates: the platform's order figures (GMV,
-- orders, shops with an order) come from daily_sales_metrics, never from
-- scanning every shop's orders, and late orders reach them.
--
-- The day. daily_sales_metrics holds each shop's own local day, so the
-- platform row of day D sums every shop's day D in its time zone (for a shop
-- in UTC that is exactly the UTC day, as before); the figures without a shop
-- day (users, subscriptions, messages, add-ons) stay UTC days.
--
-- The order of the night (pg_cron, UTC):
--   02:00 generate-daily-sales-metrics: every shop's yesterday and its late
--         (dirty) days. Each row it writes whose figures move the platform's
--         queues its date in private.dirty_platform_days.
--   02:30 generate-platform-metrics (private.run_platform_metrics): waits for
--         a sales run still going (advisory lock), then recomputes yesterday
--         (UTC) and every queued day.
-- A shop west of UTC-2 has not finished its day D at 02:00 on D+1: its row of
-- D is written the next night and queues D again, so the platform row of D
-- is final after the second night, and a late order of any past day reaches
-- its platform row the night after the order changed.

-- ---------------------------------------------------------------------------
-- daily_sales_metrics.gmv: the shop's share of the platform's GMV
-- ---------------------------------------------------------------------------

alter table public.daily_sales_metrics add column gmv numeric(12, 2) not null default 0;
comment on column public.daily_sales_metrics.gmv is
  'Sum of total (after discounts, shipping included) of the day''s revenue orders (completed or delivered): the shop''s '
  'part of the platform''s GMV.';

-- The rows computed so far, from the orders they were computed from.
update public.daily_sales_metrics m
   set gmv = coalesce(
     (select sum(o.total)
        from public.shops s
       cross join private.local_day_bounds(m.date, s.timezone) b
        join public.form_submissions o
          on o.shop_id = s.id and o.submitted_at >= b.day_start and o.submitted_at < b.day_end
       where s.id = m.shop_id
         and o.status::text in ('completed', 'delivered')),
     0);

create or replace function private.compute_daily_sales_metrics(p_shop_id uuid, p_date date)
returns public.daily_sales_metrics
language plpgsql
volatile
set search_path = ''
as $$
declare
  v_timezone text;
  v_day_start timestamptz;
  v_day_end timestamptz;
  v_row public.daily_sales_metrics;
begin
  select s.timezone into v_timezone from public.shops s where s.id = p_shop_id;
  select b.day_start, b.day_end into v_day_start, v_day_end
    from private.local_day_bounds(p_date, v_timezone) b;

  -- The day's orders come from one range scan of (shop_id, submitted_at);
  -- everything else is computed from those rows only.
  with day_orders as (
    select o.id, o.status::text as status, o.subtotal, o.discount, o.total, o.line_items,
           coalesce(o.customer_ref, o.customer_phone, o.customer_name) as customer
      from public.form_submissions o
     where o.shop_id = p_shop_id
       and o.submitted_at >= v_day_start
       and o.submitted_at < v_day_end
  ), revenue_orders as (
    select * from day_orders where status in ('completed', 'delivered')
  ), revenue_lines as (
    select l.quantity,
           l.quantity * coalesce(l.unit_price, 0) as revenue,
           l.quantity * coalesce(l.unit_cost, i.cost, 0) as cost,
           coalesce(i.category, 'uncategorized') as category
      from revenue_orders o
     cross join lateral private.order_lines(o.line_items) l
      left join public.items i on i.id = l.item_id and i.shop_id = p_shop_id
     where l.quantity > 0
  ), order_totals as (
    select count(*)::integer as orders,
           (count(*) filter (where status in ('completed', 'delivered')))::integer as completed,
           (count(*) filter (where status in ('cancelled', 'refunded')))::integer as cancelled,
           coalesce(sum(subtotal) filter (where status in ('completed', 'delivered')), 0) as gross_revenue,
           coalesce(sum(discount) filter (where status in ('completed', 'delivered')), 0) as discounts,
           coalesce(sum(total) filter (where status in ('completed', 'delivered')), 0) as gmv,
           (count(distinct customer) filter (where status in ('completed', 'delivered')))::integer
             as unique_customers
      from day_orders
  ), line_totals as (
    select coalesce(sum(quantity), 0)::integer as items_sold,
           coalesce(sum(cost), 0) as cost_of_goods
      from revenue_lines
  ), categories as (
    select coalesce(jsonb_object_agg(c.category, jsonb_build_object(
             'units', c.units, 'revenue', c.revenue)), '{}'::jsonb) as breakdown
      from (select category, sum(quantity) as units, round(sum(revenue), 2) as revenue
              from revenue_lines group by category) c
  )
  insert into public.daily_sales_metrics as m (
    shop_id, date, orders, completed, cancelled, gross_revenue, discounts, net_revenue, cost_of_goods,
    gross_profit, items_sold, average_order_value, unique_customers, category_breakdown, gmv, computed_at)
  select p_shop_id, p_date, t.orders, t.completed, t.cancelled, t.gross_revenue, t.discounts,
         t.gross_revenue - t.discounts,
         round(l.cost_of_goods, 2),
         t.gross_revenue - t.discounts - round(l.cost_of_goods, 2),
         l.items_sold,
         case when t.completed > 0 then round((t.gross_revenue - t.discounts) / t.completed, 2) else 0 end,
         t.unique_customers, c.breakdown, t.gmv, now()
    from order_totals t, line_totals l, categories c
  on conflict (shop_id, date) do update set
    orders = excluded.orders,
    completed = excluded.completed,
    cancelled = excluded.cancelled,
    gross_revenue = excluded.gross_revenue,
    discounts = excluded.discounts,
    net_revenue = excluded.net_revenue,
    cost_of_goods = excluded.cost_of_goods,
    gross_profit = excluded.gross_profit,
    items_sold = excluded.items_sold,
    average_order_value = excluded.average_order_value,
    unique_customers = excluded.unique_customers,
    category_breakdown = excluded.category_breakdown,
    gmv = excluded.gmv,
    computed_at = excluded.computed_at
  returning m.* into v_row;

  return v_row;
end;
$$;

comment on function private.compute_daily_sales_metrics(uuid, date) is
  'Upserts and returns the daily_sales_metrics row of one shop for one local day (bounds in the shop''s time zone). Revenue orders: completed or delivered. gross_revenue = sum of subtotals, net_revenue = gross - discounts (shipping excluded), gmv = sum of totals (shipping included), cost_of_goods from each line''s unit_cost (else the item''s current cost), unique customers by customer_ref, else phone, else name. No authorization: callers check.';

-- ---------------------------------------------------------------------------
-- The platform days to recompute
-- ---------------------------------------------------------------------------

create table private.dirty_platform_days (
  date date primary key,
  queued_at timestamptz not null default now()
);
comment on table private.dirty_platform_days is
  'Days whose platform order figures moved since their platform_metrics row may have been computed (a shop''s '
  'daily_sales_metrics row of that day inserted with orders, or changed); drained by private.run_platform_metrics.';

create function private.queue_dirty_platform_day()
returns trigger
language plpgsql
-- security definer: the queue is private; whoever may write
-- daily_sales_metrics (its functions, service_role) must be able to mark a day.
security definer
set search_path = ''
as $$
begin
  if tg_op = 'UPDATE' and old.date <> new.date then
    insert into private.dirty_platform_days (date) values (old.date) on conflict (date) do nothing;
  end if;
  insert into private.dirty_platform_days (date) values (new.date) on conflict (date) do nothing;
  return null;
end;
$$;

comment on function private.queue_dirty_platform_day() is
  'Trigger: queues the day (old and new) of a daily_sales_metrics row whose platform figures (orders, gmv) moved.';

-- A row without orders moves no platform figure: the nightly zero rows of
-- idle shops queue nothing. (A shop deleted with its rows leaves the past
-- platform rows as they were computed.)
create trigger daily_sales_metrics_queue_platform_day_on_insert
  after insert on public.daily_sales_metrics
  for each row when (new.orders <> 0 or new.gmv <> 0)
  execute function private.queue_dirty_platform_day();

create trigger daily_sales_metrics_queue_platform_day_on_update
  after update on public.daily_sales_metrics
  for each row when ((old.date, old.orders, old.gmv) is distinct from (new.date, new.orders, new.gmv))
  execute function private.queue_dirty_platform_day();

-- ---------------------------------------------------------------------------
-- The nightly sales job holds a lock the platform job waits for
-- ---------------------------------------------------------------------------

create or replace procedure private.run_daily_sales_metrics(p_batch_size integer default 200)
language plpgsql
as $$
declare
  v_after uuid := '00000000-0000-0000-0000-000000000000'::uuid;
  v_batch uuid[];
begin
  -- Held for the whole run, across its commits (a session lock): the
  -- platform job (private.run_platform_metrics) waits for it, so it reads
  -- every shop's metrics of the night. Released at the end, or with the
  -- session if the run fails (pg_cron gives each run its own session).
  perform pg_catalog.pg_advisory_lock('private.dirty_sales_days'::regclass::oid::bigint);
  -- Keyset batches by shop id, one transaction each: locks are held for one
  -- batch, memory does not grow with the platform, a failing shop is skipped.
  loop
    select array_agg(b.id order by b.id) into v_batch
      from (select s.id from public.shops s where s.id > v_after order by s.id limit p_batch_size) b;
    exit when v_batch is null;
    perform private.refresh_shop_sales_or_log(shop_id) from unnest(v_batch) shop_id;
    v_after := v_batch[array_length(v_batch, 1)];
    commit;
  end loop;
  perform pg_catalog.pg_advisory_unlock('private.dirty_sales_days'::regclass::oid::bigint);
end;
$$;

comment on procedure private.run_daily_sales_metrics(integer) is
  'The nightly sales metrics job (pg_cron: call): every shop''s yesterday plus its dirty days, p_batch_size shops per transaction; a failing shop is logged in private.job_errors and skipped. Holds a session advisory lock (key: the oid of private.dirty_sales_days) for the whole run, which private.run_platform_metrics waits for. Must be called outside an explicit transaction block (it commits).';

-- ---------------------------------------------------------------------------
-- generate_platform_metrics: order figures from daily_sales_metrics
-- ---------------------------------------------------------------------------

create or replace function public.generate_platform_metrics(p_date date default null)
returns jsonb
language plpgsql
volatile
-- security definer: reads every shop's daily sales metrics, messages and
-- subscriptions and writes platform_metrics, which no client role may touch directly; the
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
    -- Orders come pre-aggregated (never scanned here): each shop's own day
    -- v_date in its time zone, as daily_sales_metrics holds it. GMV: totals
    -- of the orders placed that day that reached delivered or completed;
    -- total_orders counts every order placed that day.
    (
      select
        coalesce(sum(m.gmv), 0)::numeric(14, 2) as gmv,
        coalesce(sum(m.orders), 0)::integer as total_orders
      from public.daily_sales_metrics m
      where m.date = v_date
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
    -- A shop is active on a day when it received an order (its own day, from
    -- daily_sales_metrics) or a chat message (the UTC day).
    (
      select count(*)::integer as active_shops
      from (
        select m.shop_id
        from public.daily_sales_metrics m
        where m.date = v_date and m.orders > 0
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
  'Upserts the platform_metrics row of one day (default: yesterday, UTC) and returns it. '
  'Re-running it for the same day gives the same numbers (only computed_at moves), so late or edited data is picked up. '
  'Order figures come from daily_sales_metrics, never from the orders: gmv = sum of the shops'' gmv and total_orders = '
  'sum of their orders on that date (each shop''s own local day D; a day not yet generated for a shop counts 0); '
  'active_shops = shops with an order that day or a chat message in the UTC day. '
  'MRR = sum over shops of the monthly-normalised MRR left by their latest subscription event at the end of the UTC day '
  '(active or past_due, plan not free, trials excluded, yearly / 12); movements are ChartMogul''s new / expansion / '
  'contraction / churn / reactivation as positive amounts; churn_rate = churn events in the 30 days ending that day / '
  '(shops paying when the window opened + new or reactivated subscriptions in it), a fraction in [0, 1]. '
  'Trusted callers and platform admins only (PT403 forbidden otherwise); a future day is PT400 invalid_request.';

-- ---------------------------------------------------------------------------
-- The platform job
-- ---------------------------------------------------------------------------

create function private.run_platform_metrics()
returns jsonb
language plpgsql
volatile
set search_path = ''
as $$
declare
  v_today date := (now() at time zone 'utc')::date;
  v_days date[];
begin
  -- Wait for a nightly sales run still going (it holds this key for its
  -- whole run, private.run_daily_sales_metrics): its rows are what the
  -- platform's order figures are summed from.
  perform pg_advisory_xact_lock('private.dirty_sales_days'::regclass::oid::bigint);

  -- Dequeue first: a day queued again while this runs (the insert waits for
  -- this transaction) is recomputed next time, so no change is lost. A day
  -- not yet begun in UTC stays queued until it has.
  with drained as (
    delete from private.dirty_platform_days d where d.date <= v_today returning d.date
  )
  select array_agg(distinct x.date order by x.date)
    into v_days
    from (select date from drained union select v_today - 1) x;

  perform public.generate_platform_metrics(d) from unnest(v_days) d;

  return jsonb_build_object('days', to_jsonb(v_days));
end;
$$;

comment on function private.run_platform_metrics() is
  'The nightly platform job (pg_cron): after any running private.run_daily_sales_metrics has finished, recomputes the '
  'platform_metrics row of yesterday (UTC) and of every day queued in private.dirty_platform_days (not later than '
  'today), and drains those. Returns {days}. No authorization: the job''s own session only (no grant).';

-- The job of that name (scheduled_jobs) now runs the platform job. Where
-- pg_cron is not installed (a scratch database next to the one pg_cron
-- serves, scripts/lib/db.sh db_create_test_database), there is no job to
-- update.
do $$
begin
  if to_regnamespace('cron') is not null then
    perform cron.schedule(
      'generate-platform-metrics', '30 2 * * *',
      $job$select private.run_platform_metrics()$job$
    );
  end if;
end;
$$;

-- ---------------------------------------------------------------------------
-- Restoring a snapshot taken before a column existed
-- ---------------------------------------------------------------------------

create function private.column_defaults(p_table text, p_columns text[])
returns jsonb
language plpgsql
-- defaults may be volatile (now(), gen_random_uuid())
volatile
set search_path = ''
set timezone = 'UTC'
as $$
declare
  v_sql text;
  v_defaults jsonb;
begin
  select 'select ' || string_agg(format('jsonb_build_object(%L, %s)', a.attname, pg_get_expr(d.adbin, d.adrelid)),
                                 ' || ' order by a.attnum)
    into v_sql
  from pg_attribute a
  join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
  where a.attrelid = to_regclass('public.' || quote_ident(p_table))
    and a.attgenerated = ''
    and a.attname::text = any (p_columns);

  if v_sql is null then
    return '{}'::jsonb;
  end if;
  execute v_sql into v_defaults;
  return v_defaults;
end;
$$;

comment on function private.column_defaults(text, text[]) is
  'The default values of the given columns of public.<p_table> that have one, evaluated now, as a jsonb object.';

create or replace function private.apply_shop_snapshot(p_shop_id uuid, p_data jsonb)
returns jsonb
language plpgsql
volatile
set search_path = ''
set timezone = 'UTC'
set bytea_output = 'hex'
set intervalstyle = 'postgres'
set extra_float_digits = 1
as $$
declare
  v_table record;
  v_keys record;
  v_columns text[];
  v_column_list text;
  v_pk_match text;
  v_orphans bigint;
  v_fk record;
  v_restored jsonb := '{}'::jsonb;
  v_count bigint;
  v_defaults jsonb;
  v_replication_role text := current_setting('session_replication_role');
begin
  set local session_replication_role = replica;

  -- Children first: delete every row that is not in the snapshot exactly as
  -- it is now (changed rows are deleted and re-inserted below, which also
  -- avoids transient unique conflicts when two rows swapped a unique value).
  for v_table in select * from private.backup_tables() where table_name <> 'shops' order by restore_order desc loop
    select * into v_keys from private.primary_key_sql(v_table.table_name);
    execute format(
      $sql$
      with snapshot_rows as materialized (
        select r.value as row, %1$s
        from jsonb_array_elements(coalesce($2, '[]'::jsonb)) r
      ),
      live_rows as materialized (
        select to_jsonb(t) - %3$L::text[] as row, %2$s from public.%4$I t where t.%5$I = $1
      ),
      -- a full join can only be hashed or merged: never a nested loop over
      -- jsonb_array_elements' row estimate
      stale as materialized (
        select l.*
        from snapshot_rows s
        full join live_rows l on %6$s
        where l.row is not null and s.row is distinct from l.row
      )
      delete from public.%4$I t using stale l where %7$s
      $sql$,
      v_keys.snapshot_keys, v_keys.live_keys, v_table.excluded_columns, v_table.table_name,
      v_table.scope_column, v_keys.key_match, v_keys.row_match)
      using p_shop_id, p_data -> v_table.table_name;
  end loop;

  -- Parents first: put back what is missing.
  for v_table in select * from private.backup_tables() order by restore_order loop
    v_columns := private.restorable_columns(v_table.table_name, v_table.excluded_columns);
    v_column_list := (select string_agg(format('%I', c), ', ') from unnest(v_columns) c);
    v_pk_match := (select string_agg(format('t.%1$I = s.%1$I', c), ' and ')
                   from unnest(private.primary_key_columns(v_table.table_name)) c);
    -- A snapshot taken before a column was added has no value for it: the
    -- row gets the column's default, as an insert without it would.
    v_defaults := private.column_defaults(v_table.table_name, v_columns);

    if v_table.table_name = 'shops' then
      -- The shop row is updated in place (its billing columns and every row
      -- referencing it stay), or re-created when it is gone.
      execute format(
        'update public.shops t set (%1$s) = (select %1$s from jsonb_populate_record(null::public.shops, $3 || ($2 -> 0)))
         where t.id = $1 and to_jsonb(t) - %2$L::text[] <> $2 -> 0',
        v_column_list, v_table.excluded_columns)
        using p_shop_id, p_data -> 'shops', v_defaults;
      execute format(
        'insert into public.shops (%1$s) select %1$s from jsonb_populate_record(null::public.shops, $3 || ($2 -> 0)) s
         where s.id = $1 and not exists (select 1 from public.shops t where t.id = $1)',
        v_column_list)
        using p_shop_id, p_data -> 'shops', v_defaults;
    else
      execute format(
        'insert into public.%1$I (%2$s) overriding system value
         select %2$s from jsonb_array_elements(coalesce($2, ''[]''::jsonb)) r,
                          jsonb_populate_record(null::public.%1$I, $3 || r.value) s
         where s.%3$I = $1 and not exists (select 1 from public.%1$I t where %4$s)',
        v_table.table_name, v_column_list, v_table.scope_column, v_pk_match)
        using p_shop_id, p_data -> v_table.table_name, v_defaults;
    end if;

    if v_table.table_name = 'form_submissions' then
      -- The order-number trigger did not run: move the shop's counter past
      -- the restored numbers so the next order cannot reuse one.
      insert into private.order_number_counters as c (shop_id, last_order_number)
      select p_shop_id, max(o.order_number) from public.form_submissions o where o.shop_id = p_shop_id
      having max(o.order_number) is not null
      on conflict (shop_id) do update
        set last_order_number = greatest(c.last_order_number, excluded.last_order_number);
    end if;

    execute format('select count(*) from public.%I t where t.%I = $1', v_table.table_name, v_table.scope_column)
      into v_count using p_shop_id;
    v_restored := v_restored || jsonb_build_object(v_table.table_name, v_count);
  end loop;

  -- Re-check every foreign key from or into the restored tables, limited to
  -- this shop's rows where the referencing table is shop-scoped.
  for v_fk in
    select
      c.conname::text as constraint_name,
      child.relname::text as child_table,
      child_ns.nspname::text as child_schema,
      parent.relname::text as parent_table,
      parent_ns.nspname::text as parent_schema,
      (select string_agg(format('c.%I is not null', a.attname), ' and ')
       from unnest(c.conkey) k (attnum)
       join pg_attribute a on a.attrelid = c.conrelid and a.attnum = k.attnum) as not_null,
      (select string_agg(format('p.%I = c.%I', pa.attname, ca.attname), ' and ')
       from unnest(c.conkey, c.confkey) k (child_attnum, parent_attnum)
       join pg_attribute ca on ca.attrelid = c.conrelid and ca.attnum = k.child_attnum
       join pg_attribute pa on pa.attrelid = c.confrelid and pa.attnum = k.parent_attnum) as match,
      case
        when child_ns.nspname = 'public' and child.relname = 'shops' then 'c.id = $1'
        when exists (select 1 from pg_attribute a
                     where a.attrelid = c.conrelid and a.attname = 'shop_id' and not a.attisdropped)
          then 'c.shop_id = $1'
        else 'true'
      end as scope
    from pg_constraint c
    join pg_class child on child.oid = c.conrelid
    join pg_namespace child_ns on child_ns.oid = child.relnamespace
    join pg_class parent on parent.oid = c.confrelid
    join pg_namespace parent_ns on parent_ns.oid = parent.relnamespace
    where c.contype = 'f'
      and (
        (child_ns.nspname = 'public' and child.relname in (select b.table_name from private.backup_tables() b))
        or (parent_ns.nspname = 'public' and parent.relname in (select b.table_name from private.backup_tables() b))
      )
  loop
    execute format(
      'select count(*) from %I.%I c where %s and %s and not exists (select 1 from %I.%I p where %s)',
      v_fk.child_schema, v_fk.child_table, v_fk.scope, v_fk.not_null,
      v_fk.parent_schema, v_fk.parent_table, v_fk.match)
      into v_orphans using p_shop_id;
    if v_orphans > 0 then
      perform private.raise_api_error(409, 'conflict',
        jsonb_build_object(
          'reason', 'dangling_reference', 'constraint', v_fk.constraint_name,
          'table', v_fk.child_table, 'references', v_fk.parent_table, 'rows', v_orphans),
        format('Restoring would leave %s row(s) of %s pointing at missing %s rows; nothing was restored.',
          v_orphans, v_fk.child_table, v_fk.parent_table));
    end if;
  end loop;

  -- Days restored from a snapshot taken before daily_sales_metrics had gmv
  -- (they get 0): the next nightly run recomputes them from the restored
  -- orders, and the platform's days with them.
  insert into private.dirty_sales_days (shop_id, date)
  select p_shop_id, (r.value ->> 'date')::date
    from jsonb_array_elements(coalesce(p_data -> 'daily_sales_metrics', '[]'::jsonb)) r
   where not r.value ? 'gmv'
  on conflict (shop_id, date) do nothing;

  execute format('set local session_replication_role = %L', v_replication_role);
  return v_restored;
end;
$$;

comment on function private.apply_shop_snapshot(uuid, jsonb) is
  'Makes the shop''s rows of every table of private.backup_tables() equal to p_data (delete rows not in it, insert the '
  'missing, update the shop row in place; billing columns untouched; a column the snapshot has no value for, being '
  'newer than it, gets its default) with triggers off (session_replication_role = replica, this function only), then '
  're-checks every foreign key touching the shop: a dangling one raises PT409 conflict and nothing is kept. Days of '
  'daily_sales_metrics restored without gmv are queued for the nightly recompute. Returns {table: rows of the shop '
  'after the restore}. Caller must be authorized.';

-- Postgres lets PUBLIC execute every new function: revoked, so that only the
-- grants of the functions above remain.
revoke execute on all functions in schema public, private from public;
