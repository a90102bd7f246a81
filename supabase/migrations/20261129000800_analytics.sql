-- analytics: per-shop daily sales metrics and per-item product analytics,
-- written only by the generate_* functions, and the readers get_sales_metrics
-- and get_shop_stats.
--
-- Revenue, everywhere in this file: an order counts as revenue when its
-- status is 'completed' or 'delivered' (the same rule as the platform GMV);
-- 'cancelled' and 'refunded' orders count only as cancelled; every submitted
-- order counts in `orders`.

-- ---------------------------------------------------------------------------
-- Tables
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

-- ---------------------------------------------------------------------------
-- RLS policies
-- ---------------------------------------------------------------------------

-- Read-only for members: written by the functions below (security definer) only.
create policy daily_sales_metrics_select on public.daily_sales_metrics for select to authenticated
  using ((select private.is_shop_member(shop_id)));
create policy product_analytics_select on public.product_analytics for select to authenticated
  using ((select private.is_shop_member(shop_id)));

-- Written only by the functions below (security definer); members read.
grant select, insert, update, delete on public.daily_sales_metrics, public.product_analytics to service_role;
grant select on public.daily_sales_metrics, public.product_analytics to authenticated;

-- ---------------------------------------------------------------------------
-- Day and period helpers
-- ---------------------------------------------------------------------------
create function private.local_day_bounds(p_date date, p_timezone text, out day_start timestamptz, out day_end timestamptz)
language sql
immutable
set search_path = ''
as $$
  -- Midnight to midnight in the shop's zone, as instants; DST days are 23 or
  -- 25 hours long, which this handles because each bound is converted alone.
  select (p_date::timestamp at time zone p_timezone),
         ((p_date + 1)::timestamp at time zone p_timezone)
$$;

comment on function private.local_day_bounds(date, text) is
  'The half-open instant range [day_start, day_end) of a local calendar day in an IANA time zone, for index range scans on timestamptz columns.';

create function private.assert_report_period(p_start date, p_end date)
returns void
language plpgsql
immutable
set search_path = ''
as $$
begin
  if p_start is null or p_end is null or p_start > p_end or p_end - p_start + 1 > 366 then
    perform private.raise_api_error(400, 'invalid_request',
      jsonb_build_object('start', p_start, 'end', p_end, 'max_days', 366),
      'Give a start and end date, start not after end, at most 366 days');
  end if;
end;
$$;

comment on function private.assert_report_period(date, date) is
  'Returns when [p_start, p_end] is a valid analytics period (both given, start not after end, at most 366 days); raises PT400 invalid_request {start, end, max_days} otherwise.';

-- ---------------------------------------------------------------------------
-- Functions
-- ---------------------------------------------------------------------------

create function private.compute_daily_sales_metrics(p_shop_id uuid, p_date date)
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
    select o.id, o.status::text as status, o.subtotal, o.discount, o.line_items,
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
    gross_profit, items_sold, average_order_value, unique_customers, category_breakdown, computed_at)
  select p_shop_id, p_date, t.orders, t.completed, t.cancelled, t.gross_revenue, t.discounts,
         t.gross_revenue - t.discounts,
         round(l.cost_of_goods, 2),
         t.gross_revenue - t.discounts - round(l.cost_of_goods, 2),
         l.items_sold,
         case when t.completed > 0 then round((t.gross_revenue - t.discounts) / t.completed, 2) else 0 end,
         t.unique_customers, c.breakdown, now()
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
    computed_at = excluded.computed_at
  returning m.* into v_row;

  return v_row;
end;
$$;

comment on function private.compute_daily_sales_metrics(uuid, date) is
  'Upserts and returns the daily_sales_metrics row of one shop for one local day (bounds in the shop''s time zone). Revenue orders: completed or delivered. gross_revenue = sum of subtotals, net_revenue = gross - discounts (shipping excluded), cost_of_goods from each line''s unit_cost (else the item''s current cost), unique customers by customer_ref, else phone, else name. No authorization: callers check.';

create function public.generate_daily_sales_metrics(
  p_date date default null,
  p_shop_id uuid default null
)
returns jsonb
language plpgsql
volatile
-- security definer: daily_sales_metrics is written only by this function
-- (members may read it, nobody may write it). Authorization is explicit:
-- one shop needs staff or above; all shops need a trusted caller or a
-- platform admin.
security definer
set search_path = ''
as $$
declare
  v_shop record;
  v_row public.daily_sales_metrics;
  v_shops integer := 0;
begin
  if p_shop_id is not null then
    perform private.assert_shop_role(p_shop_id, 'staff', 'shop', p_shop_id);
    select s.id, s.timezone into v_shop from public.shops s where s.id = p_shop_id;
    v_row := private.compute_daily_sales_metrics(
      p_shop_id,
      coalesce(p_date, (now() at time zone v_shop.timezone)::date - 1));
    return to_jsonb(v_row);
  end if;

  if not (private.is_trusted_caller() or private.is_platform_admin()) then
    perform private.raise_api_error(403, 'forbidden',
      '{"field": "shop_id"}',
      'Metrics for all shops need a platform admin; pass shop_id for your own shop');
  end if;

  -- Each shop's own yesterday when no date is given: at 02:00 UTC that is a
  -- different calendar day in Honolulu than in Tokyo.
  for v_shop in select s.id, s.timezone from public.shops s order by s.id loop
    perform private.compute_daily_sales_metrics(
      v_shop.id,
      coalesce(p_date, (now() at time zone v_shop.timezone)::date - 1));
    v_shops := v_shops + 1;
  end loop;

  return jsonb_build_object('date', p_date, 'shops', v_shops);
end;
$$;

comment on function public.generate_daily_sales_metrics(date, uuid) is
  'Recomputes (upsert) daily_sales_metrics for one local day: for p_shop_id (staff or above; returns the row) or for every shop when p_shop_id is null (trusted caller or platform admin; returns {date, shops}). p_date null = yesterday in each shop''s own time zone (then date in the answer is null). Day boundaries are local midnights of the shop''s time zone; re-running gives the same row (computed_at aside), picking up late or edited orders. Revenue orders: completed or delivered.';

create function public.generate_product_analytics(
  p_shop_id uuid,
  p_start date,
  p_end date
)
returns jsonb
language plpgsql
volatile
-- security definer: product_analytics is written only by this function;
-- the caller is checked by private.assert_shop_role (staff or above).
security definer
set search_path = ''
as $$
declare
  v_timezone text;
  v_period_start timestamptz;
  v_period_end timestamptz;
  v_days integer;
  v_rows jsonb;
begin
  perform private.assert_report_period(p_start, p_end);

  perform private.assert_shop_role(p_shop_id, 'staff', 'shop', p_shop_id);

  select s.timezone into v_timezone from public.shops s where s.id = p_shop_id;
  v_period_start := (select b.day_start from private.local_day_bounds(p_start, v_timezone) b);
  v_period_end := (select b.day_end from private.local_day_bounds(p_end, v_timezone) b);
  v_days := p_end - p_start + 1;

  with sold as (
    select l.item_id,
           sum(l.quantity) as units,
           sum(l.quantity * coalesce(l.unit_price, 0)) as revenue,
           sum(l.quantity * coalesce(l.unit_cost, i.cost, 0)) as cost,
           count(distinct o.id) as order_count
      from public.form_submissions o
     cross join lateral private.order_lines(o.line_items) l
      join public.items i on i.id = l.item_id and i.shop_id = p_shop_id
     where o.shop_id = p_shop_id
       and o.submitted_at >= v_period_start
       and o.submitted_at < v_period_end
       and o.status::text in ('completed', 'delivered')
       and l.quantity > 0
     group by l.item_id
  ), later_changes as (
    -- Stock at the end of the period = stock now minus what moved since.
    select h.item_id, sum(h.change) as change
      from public.stock_history h
     where h.shop_id = p_shop_id
       and h.created_at >= v_period_end
     group by h.item_id
  ), measured as (
    select i.id as item_id,
           coalesce(s.units, 0)::integer as units_sold,
           round(coalesce(s.revenue, 0), 2) as revenue,
           round(coalesce(s.cost, 0), 2) as cost,
           coalesce(s.order_count, 0)::integer as order_count,
           case when i.track_stock then (i.stock - coalesce(c.change, 0))::integer end as stock_at_end
      from public.items i
      left join sold s on s.item_id = i.id
      left join later_changes c on c.item_id = i.id
     where i.shop_id = p_shop_id
       and (i.is_active or s.item_id is not null)
  ), ranked as (
    select m.*,
           coalesce(sum(m.revenue) over (order by m.revenue desc, m.item_id
                                         rows between unbounded preceding and 1 preceding), 0)
             as revenue_before,
           sum(m.revenue) over () as total_revenue
      from measured m
  ), upserted as (
    insert into public.product_analytics as pa (
      shop_id, item_id, period_start, period_end, units_sold, revenue, cost, profit, margin_pct, order_count,
      stock_at_end, sell_through_rate, days_of_cover, abc_class, computed_at)
    select p_shop_id, r.item_id, p_start, p_end, r.units_sold, r.revenue, r.cost, r.revenue - r.cost,
           case when r.revenue > 0 then round((r.revenue - r.cost) / r.revenue * 100, 2) end,
           r.order_count,
           r.stock_at_end,
           case when r.units_sold + coalesce(r.stock_at_end, 0) > 0 and r.stock_at_end is not null
                then round(r.units_sold::numeric / (r.units_sold + r.stock_at_end), 4) end,
           case when r.units_sold > 0 and r.stock_at_end is not null
                then round(r.stock_at_end::numeric / (r.units_sold::numeric / v_days), 2) end,
           -- A: the items that make the first 80% of revenue (the item that
           -- crosses 80% included), B: the next 15%, C: the rest and unsold.
           case when r.revenue <= 0 then 'C'
                when r.revenue_before < 0.80 * r.total_revenue then 'A'
                when r.revenue_before < 0.95 * r.total_revenue then 'B'
                else 'C' end,
           now()
      from ranked r
    on conflict (shop_id, item_id, period_start, period_end) do update set
      units_sold = excluded.units_sold,
      revenue = excluded.revenue,
      cost = excluded.cost,
      profit = excluded.profit,
      margin_pct = excluded.margin_pct,
      order_count = excluded.order_count,
      stock_at_end = excluded.stock_at_end,
      sell_through_rate = excluded.sell_through_rate,
      days_of_cover = excluded.days_of_cover,
      abc_class = excluded.abc_class,
      computed_at = excluded.computed_at
    returning pa.*
  )
  select coalesce(jsonb_agg(to_jsonb(u) order by u.revenue desc, u.item_id), '[]'::jsonb)
    into v_rows
    from upserted u;

  return jsonb_build_object('rows', v_rows);
end;
$$;

comment on function public.generate_product_analytics(uuid, date, date) is
  'Recomputes (upsert) product_analytics of every active or sold item of a shop for the local-date period [p_start, p_end] (at most 366 days; shop time zone). Counts completed and delivered orders. stock_at_end = current stock minus later movements (null when untracked); sell_through_rate = units / (units + stock_at_end); days_of_cover = stock_at_end / (units per day), null when none sold; abc_class by cumulative revenue share (A first 80%, B next 15%, C rest). Staff or above. Returns {rows: [...]} by revenue, highest first.';

create function public.get_sales_metrics(
  p_shop_id uuid,
  p_start date,
  p_end date
)
returns jsonb
language plpgsql
stable
set search_path = ''
as $$
declare
  v_days jsonb;
  v_totals jsonb;
begin
  perform private.assert_report_period(p_start, p_end);

  perform private.assert_shop_role(p_shop_id, 'viewer', 'shop', p_shop_id);

  select coalesce(jsonb_agg(to_jsonb(m) order by m.date), '[]'::jsonb),
         jsonb_build_object(
           'days', count(*),
           'orders', coalesce(sum(m.orders), 0),
           'completed', coalesce(sum(m.completed), 0),
           'cancelled', coalesce(sum(m.cancelled), 0),
           'gross_revenue', coalesce(sum(m.gross_revenue), 0),
           'discounts', coalesce(sum(m.discounts), 0),
           'net_revenue', coalesce(sum(m.net_revenue), 0),
           'cost_of_goods', coalesce(sum(m.cost_of_goods), 0),
           'gross_profit', coalesce(sum(m.gross_profit), 0),
           'items_sold', coalesce(sum(m.items_sold), 0),
           'average_order_value',
             case when coalesce(sum(m.completed), 0) > 0
                  then round(sum(m.net_revenue) / sum(m.completed), 2)
                  else 0 end)
    into v_days, v_totals
    from public.daily_sales_metrics m
   where m.shop_id = p_shop_id
     and m.date between p_start and p_end;

  return jsonb_build_object('days', v_days, 'totals', v_totals);
end;
$$;

comment on function public.get_sales_metrics(uuid, date, date) is
  'The pre-aggregated daily_sales_metrics rows of a shop for [p_start, p_end] (at most 366 days, else PT400 invalid_request) and their totals; never reads orders. Days not yet generated are absent (totals.days counts the rows). unique_customers is not summed (customers repeat across days). Any member; runs with the caller''s rights. Returns {days: [...], totals: {...}}.';

create function public.get_shop_stats(p_shop_id uuid)
returns jsonb
language plpgsql
stable
set search_path = ''
as $$
declare
  v_shop record;
  v_today date;
  v_today_start timestamptz;
  v_month_start timestamptz;
  v_items jsonb;
  v_orders jsonb;
  v_open_conversations integer;
begin
  perform private.assert_shop_role(p_shop_id, 'viewer', 'shop', p_shop_id);

  select s.id, s.name, s.currency, s.timezone, s.default_low_stock_threshold
    into v_shop
    from public.shops s
   where s.id = p_shop_id;

  v_today := (now() at time zone v_shop.timezone)::date;
  v_today_start := (select b.day_start from private.local_day_bounds(v_today, v_shop.timezone) b);
  v_month_start := (select b.day_start
                      from private.local_day_bounds(date_trunc('month', v_today)::date, v_shop.timezone) b);

  select jsonb_build_object(
           'total', count(*),
           'active', count(*) filter (where i.is_active),
           'tracked', count(*) filter (where i.is_active and i.track_stock),
           'low_stock', count(*) filter (
              where i.is_active and i.track_stock
                and i.stock <= coalesce(i.low_stock_threshold, v_shop.default_low_stock_threshold)),
           'out_of_stock', count(*) filter (where i.is_active and i.track_stock and i.stock = 0))
    into v_items
    from public.items i
   where i.shop_id = p_shop_id;

  select jsonb_build_object(
           'today', jsonb_build_object(
              'orders', count(*) filter (where o.submitted_at >= v_today_start),
              'revenue', coalesce(sum(o.subtotal - o.discount) filter (
                 where o.submitted_at >= v_today_start and o.status::text in ('completed', 'delivered')), 0)),
           'month', jsonb_build_object(
              'orders', count(*),
              'revenue', coalesce(sum(o.subtotal - o.discount) filter (
                 where o.status::text in ('completed', 'delivered')), 0)),
           'open_this_month', count(*) filter (
              where o.status::text in ('pending', 'confirmed', 'processing', 'shipped')))
    into v_orders
    from public.form_submissions o
   where o.shop_id = p_shop_id
     and o.submitted_at >= v_month_start;

  select count(*)::integer into v_open_conversations
    from public.conversations c
   where c.shop_id = p_shop_id
     and c.status::text = 'open';

  return jsonb_build_object(
    'shop_id', v_shop.id,
    'currency', v_shop.currency,
    'timezone', v_shop.timezone,
    'local_date', v_today,
    'items', v_items,
    'orders', v_orders,
    'open_conversations', v_open_conversations);
end;
$$;

comment on function public.get_shop_stats(uuid) is
  'One summary of a shop for its dashboard: items (total, active, tracked, low_stock by the item-else-shop threshold, out_of_stock), orders and revenue (net of discounts, completed or delivered orders) today and this month in the shop''s local time, open orders this month, open conversations. Any member; runs with the caller''s rights. Read-only.';

-- ---------------------------------------------------------------------------
-- Late orders: the dirty shop-day queue
-- ---------------------------------------------------------------------------

-- A past local day whose orders changed after the day ended. The nightly job
-- recomputes exactly these days (and the product analytics periods that cover
-- them) instead of every day: a shop-day nobody touched is never recomputed.
create table private.dirty_sales_days (
  shop_id uuid not null references public.shops (id) on delete cascade,
  date date not null,
  queued_at timestamptz not null default now(),
  primary key (shop_id, date)
);
comment on table private.dirty_sales_days is
  'Shop-days (local calendar days) whose orders were inserted, edited, cancelled, delivered or deleted after the day ended; drained by private.refresh_shop_sales.';

create function private.queue_dirty_sales_day(p_shop_id uuid, p_submitted_at timestamptz)
returns void
language sql
volatile
set search_path = ''
as $$
  -- Only finished days: today is computed by tomorrow's run anyway, so the
  -- usual order (inserted and handled the same day) costs no queue row.
  insert into private.dirty_sales_days (shop_id, date)
  select s.id, (p_submitted_at at time zone s.timezone)::date
    from public.shops s
   where s.id = p_shop_id
     and (p_submitted_at at time zone s.timezone)::date < (now() at time zone s.timezone)::date
  on conflict (shop_id, date) do nothing
$$;

comment on function private.queue_dirty_sales_day(uuid, timestamptz) is
  'Queues the local day of p_submitted_at in the shop''s time zone as dirty when that day has ended (no-op for today and future days, and when already queued).';

create function private.queue_dirty_sales_days()
returns trigger
language plpgsql
-- security definer: the queue is private; any role that may change an order
-- must be able to mark its day.
security definer
set search_path = ''
as $$
begin
  if tg_op in ('UPDATE', 'DELETE') then
    if tg_op = 'DELETE'
       or (old.shop_id, old.submitted_at, old.status, old.subtotal, old.discount, old.line_items,
           old.customer_ref, old.customer_phone, old.customer_name)
          is distinct from
          (new.shop_id, new.submitted_at, new.status, new.subtotal, new.discount, new.line_items,
           new.customer_ref, new.customer_phone, new.customer_name) then
      perform private.queue_dirty_sales_day(old.shop_id, old.submitted_at);
    else
      return null;
    end if;
  end if;
  if tg_op in ('INSERT', 'UPDATE') then
    perform private.queue_dirty_sales_day(new.shop_id, new.submitted_at);
  end if;
  return null;
end;
$$;

comment on function private.queue_dirty_sales_days() is
  'Trigger: an order inserted, deleted, or changed in a column the metrics read (day, status, amounts, lines, customer) marks its old and new local day dirty when that day has ended.';

create trigger form_submissions_queue_dirty_sales_days
  after insert or update or delete on public.form_submissions
  for each row execute function private.queue_dirty_sales_days();

-- ---------------------------------------------------------------------------
-- The nightly job: per-shop work in bounded batches
-- ---------------------------------------------------------------------------

-- One row per shop that failed in a nightly run; the run goes on without it.
create table private.job_errors (
  id bigint generated always as identity primary key,
  job text not null,
  shop_id uuid,
  sqlstate text not null,
  message text not null,
  failed_at timestamptz not null default now()
);
comment on table private.job_errors is
  'Per-shop failures of the batched nightly jobs (the shop is skipped, the batch and the run go on).';
create index job_errors_failed_at_idx on private.job_errors (failed_at);

create function private.refresh_shop_sales(p_shop_id uuid, p_date date default null)
returns jsonb
language plpgsql
volatile
set search_path = ''
as $$
declare
  v_timezone text;
  v_yesterday date;
  v_days date[];
  v_period record;
  v_periods integer := 0;
begin
  select s.timezone into v_timezone from public.shops s where s.id = p_shop_id;
  v_yesterday := coalesce(p_date, (now() at time zone v_timezone)::date - 1);

  -- Dequeue first: an order changed while this runs queues its day again
  -- (the insert waits for this transaction), so no change is lost.
  with drained as (
    delete from private.dirty_sales_days d where d.shop_id = p_shop_id returning d.date
  )
  select coalesce(array_agg(distinct x.date order by x.date), '{}')
    into v_days
    from (select date from drained union select v_yesterday) x;

  perform private.compute_daily_sales_metrics(p_shop_id, d) from unnest(v_days) d;

  -- Product analytics already computed for a period that covers a changed day.
  for v_period in
    select distinct pa.period_start, pa.period_end
      from public.product_analytics pa
     where pa.shop_id = p_shop_id
       and exists (select 1 from unnest(v_days) d
                    where d between pa.period_start and pa.period_end and d <> v_yesterday)
  loop
    perform public.generate_product_analytics(p_shop_id, v_period.period_start, v_period.period_end);
    v_periods := v_periods + 1;
  end loop;

  return jsonb_build_object('shop_id', p_shop_id, 'days', to_jsonb(v_days), 'product_periods', v_periods);
end;
$$;

comment on function private.refresh_shop_sales(uuid, date) is
  'The nightly metrics work of one shop: daily_sales_metrics of p_date (null = yesterday in the shop''s zone) and of every queued dirty day, and product_analytics periods that cover a dirty day; drains the shop''s queue. Returns {shop_id, days, product_periods}. No authorization: trusted callers only.';

create function private.refresh_shop_sales_or_log(p_shop_id uuid, p_date date default null)
returns boolean
language plpgsql
volatile
set search_path = ''
as $$
declare
  v_state text;
  v_message text;
begin
  perform private.refresh_shop_sales(p_shop_id, p_date);
  return true;
exception when others then
  -- The shop's work is rolled back (its queue rows stay for the next run);
  -- the error is kept and the batch goes on.
  get stacked diagnostics v_state = returned_sqlstate, v_message = message_text;
  insert into private.job_errors (job, shop_id, sqlstate, message)
  values ('daily-sales-metrics', p_shop_id, v_state, v_message);
  raise warning 'daily-sales-metrics: shop % failed: % %', p_shop_id, v_state, v_message;
  return false;
end;
$$;

comment on function private.refresh_shop_sales_or_log(uuid, date) is
  'private.refresh_shop_sales in its own subtransaction: true when it succeeded; on error its work is undone, a private.job_errors row is written and false is returned.';

-- No `set search_path` clause: a procedure with one may not COMMIT. Every
-- name in it is schema-qualified instead, and it is not security definer.
create procedure private.run_daily_sales_metrics(p_batch_size integer default 200)
language plpgsql
as $$
declare
  v_after uuid := '00000000-0000-0000-0000-000000000000'::uuid;
  v_batch uuid[];
begin
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
end;
$$;

comment on procedure private.run_daily_sales_metrics(integer) is
  'The nightly sales metrics job (pg_cron: call): every shop''s yesterday plus its dirty days, p_batch_size shops per transaction; a failing shop is logged in private.job_errors and skipped. Must be called outside an explicit transaction block (it commits).';

-- The invoker-rights readers call these as the caller.
grant execute on function
  private.local_day_bounds(date, text),
  private.assert_report_period(date, date)
  to authenticated, service_role;

grant execute on function
  public.generate_daily_sales_metrics(date, uuid),
  public.generate_product_analytics(uuid, date, date),
  public.get_sales_metrics(uuid, date, date),
  public.get_shop_stats(uuid)
  to authenticated, service_role;

-- Postgres lets PUBLIC execute every new function: revoked, so that only the
-- grants above remain.
revoke execute on all functions in schema public, private from public;
-- ALL FUNCTIONS leaves procedures out.
revoke execute on procedure private.run_daily_sales_metrics(integer) from public;
