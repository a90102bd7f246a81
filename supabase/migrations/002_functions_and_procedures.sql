-- 002_functions_and_procedures.sql
--
-- The functions behind the inventory and analytics edge functions (the RPC
-- contract of docs/ARCHITECTURE.md), plus the private helpers they share:
--   * idempotency: private.idempotency_lookup / private.idempotency_store
--     (also used by the admin functions at the end of this file);
--   * authorization: private.assert_shop_role (not a member -> not_found,
--     role too low -> forbidden);
--   * the shared start of the order-level functions (shop, role, idempotency):
--     private.begin_order_stock_call;
--   * inventory: update_stock, process_order_stock_changes,
--     restore_order_stock, get_low_stock_items;
--   * analytics: generate_daily_sales_metrics, generate_product_analytics,
--     get_sales_metrics, get_shop_stats;
--   * platform administration: generate_platform_metrics,
--     get_platform_stats, create_backup_snapshot, restore_backup_snapshot,
--     list_backups, cleanup_expired_snapshots.
--
-- Conventions: every expected failure is raised with errcode PTxxx (PostgREST
-- answers HTTP xxx), message = the stable API code, detail = a JSON object as
-- text, hint = a human sentence. Every function sets search_path = '' and
-- names everything fully qualified.
--
-- Locking order, the same on every path so that concurrent calls queue
-- instead of deadlocking:
--   1. the idempotency advisory lock (shop, key), when a key is given;
--   2. the order row (form_submissions), for order-level functions;
--   3. item rows, ascending by id, all taken before the first write.
-- (The failure modes this avoids: opposite lock orders deadlocking, Saleor
-- #17123; a lock that was never really taken, Saleor #19615; two lines of
-- one item each checked against the same stock, Medusa #16502.)
--
-- Revenue, everywhere in this file: an order counts as revenue when its
-- status is 'completed' or 'delivered' (the same rule as the platform GMV);
-- 'cancelled' and 'refunded' orders count only as cancelled; every submitted
-- order counts in `orders`.

-- ---------------------------------------------------------------------------
-- Private helpers
-- ---------------------------------------------------------------------------

create or replace function private.request_hash(p_arguments jsonb)
returns text
language sql
immutable
set search_path = ''
as $$
  -- jsonb's text form is canonical (keys sorted, no whitespace variance), so
  -- equal arguments always give the same hash.
  select pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(p_arguments::text, 'UTF8')), 'hex')
$$;

comment on function private.request_hash(jsonb) is
  'sha256 (hex) of the canonical text of a jsonb object of a function''s arguments: the request_hash stored with an idempotency key.';


create or replace function private.idempotency_lookup(
  p_shop_id uuid,
  p_key text,
  p_action text,
  p_request_hash text
)
returns jsonb
language plpgsql
volatile
set search_path = ''
as $$
declare
  v_stored record;
begin
  if p_key is null then
    return null;
  end if;

  if pg_catalog.length(p_key) not between 1 and 255 then
    raise exception using
      errcode = 'PT400',
      message = 'invalid_request',
      detail = pg_catalog.jsonb_build_object('field', 'idempotency_key')::text,
      hint = 'An idempotency key must be 1 to 255 characters long';
  end if;

  -- Concurrent retries with the same key queue here until the first one
  -- commits or rolls back; the next statement then sees its stored row.
  perform pg_catalog.pg_advisory_xact_lock(
    pg_catalog.hashtextextended(coalesce(p_shop_id::text, 'platform') || '/' || p_key, 0)
  );

  if p_shop_id is null then
    select k.action, k.request_hash, k.response
      into v_stored
      from public.idempotency_keys k
     where k.shop_id is null and k.key = p_key;
  else
    select k.action, k.request_hash, k.response
      into v_stored
      from public.idempotency_keys k
     where k.shop_id = p_shop_id and k.key = p_key;
  end if;

  if not found then
    return null;
  end if;

  if v_stored.action <> p_action or v_stored.request_hash <> p_request_hash then
    raise exception using
      errcode = 'PT422',
      message = 'idempotency_conflict',
      detail = pg_catalog.jsonb_build_object('idempotency_key', p_key)::text,
      hint = 'This idempotency key was already used for a different request';
  end if;

  return v_stored.response;
end;
$$;

comment on function private.idempotency_lookup(uuid, text, text, text) is
  'Null when p_key is null or unseen for this shop (null shop = platform-wide). Takes a transaction advisory lock on (shop, key) first, so concurrent retries serialize. Returns the stored response when action and request hash match; raises PT422 idempotency_conflict otherwise. Call before doing any work, then idempotency_store in the same transaction: only a committed success is stored, so a retry of a request that failed runs again.';


create or replace function private.idempotency_store(
  p_shop_id uuid,
  p_key text,
  p_action text,
  p_request_hash text,
  p_response jsonb
)
returns void
language plpgsql
volatile
set search_path = ''
as $$
begin
  if p_key is null then
    return;
  end if;

  insert into public.idempotency_keys (shop_id, key, action, request_hash, response)
  values (p_shop_id, p_key, p_action, p_request_hash, p_response);
end;
$$;

comment on function private.idempotency_store(uuid, text, text, text, jsonb) is
  'Records the response of a mutation under its idempotency key, in the caller''s transaction (so it is stored exactly when the change commits). No-op when p_key is null. Call after idempotency_lookup, which holds the (shop, key) lock.';


create or replace function private.assert_shop_role(
  p_shop_id uuid,
  p_min_role public.team_role,
  p_resource text,
  p_resource_id uuid
)
returns void
language plpgsql
stable
set search_path = ''
as $$
begin
  if private.is_trusted_caller() then
    if not exists (select 1 from public.shops s where s.id = p_shop_id) then
      raise exception using
        errcode = 'PT404',
        message = 'not_found',
        detail = pg_catalog.jsonb_build_object(p_resource || '_id', p_resource_id)::text,
        hint = pg_catalog.format('No %s with this id', p_resource);
    end if;
    return;
  end if;

  -- Not a member: the same answer as a missing row, so another shop's ids
  -- cannot be probed.
  if p_shop_id is null or not private.is_shop_member(p_shop_id) then
    raise exception using
      errcode = 'PT404',
      message = 'not_found',
      detail = pg_catalog.jsonb_build_object(p_resource || '_id', p_resource_id)::text,
      hint = pg_catalog.format('No %s with this id', p_resource);
  end if;

  if not private.has_shop_role(p_shop_id, p_min_role) then
    raise exception using
      errcode = 'PT403',
      message = 'forbidden',
      detail = pg_catalog.jsonb_build_object('required_role', p_min_role)::text,
      hint = pg_catalog.format('This needs the %s role or higher in this shop', p_min_role);
  end if;
end;
$$;

comment on function private.assert_shop_role(uuid, public.team_role, text, uuid) is
  'Returns when the caller is a trusted caller (and the shop exists) or a member of the shop with at least p_min_role. Otherwise raises PT404 not_found for non-members (detail {<resource>_id}) and PT403 forbidden for members below the role.';


create or replace function private.order_lines(p_line_items jsonb)
returns table (line_index integer, item_id uuid, quantity integer, unit_price numeric, unit_cost numeric)
language sql
immutable
set search_path = ''
as $$
  -- Orders come from public forms, so the jsonb is parsed defensively: a
  -- malformed field becomes null instead of an error, and each caller decides
  -- whether null is acceptable.
  select
    (e.ordinality - 1)::integer,
    case when e.value ->> 'item_id' ~* '^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$'
         then (e.value ->> 'item_id')::uuid end,
    case when pg_catalog.jsonb_typeof(e.value -> 'quantity') = 'number'
              and (e.value ->> 'quantity') ~ '^[0-9]{1,9}$'
         then (e.value ->> 'quantity')::integer end,
    case when pg_catalog.jsonb_typeof(e.value -> 'unit_price') = 'number'
         then (e.value ->> 'unit_price')::numeric end,
    case when pg_catalog.jsonb_typeof(e.value -> 'unit_cost') = 'number'
         then (e.value ->> 'unit_cost')::numeric end
  from pg_catalog.jsonb_array_elements(
         case when pg_catalog.jsonb_typeof(p_line_items) = 'array' then p_line_items else '[]'::jsonb end
       ) with ordinality as e(value, ordinality)
$$;

comment on function private.order_lines(jsonb) is
  'The line items of an order as rows (0-based line_index, item_id, quantity, unit_price, unit_cost); a missing or malformed field is null, never an error.';


create or replace function private.local_day_bounds(p_date date, p_timezone text, out day_start timestamptz, out day_end timestamptz)
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


create or replace function private.assert_report_period(p_start date, p_end date)
returns void
language plpgsql
immutable
set search_path = ''
as $$
begin
  if p_start is null or p_end is null or p_start > p_end or p_end - p_start + 1 > 366 then
    raise exception using errcode = 'PT400', message = 'invalid_request',
      detail = pg_catalog.jsonb_build_object('start', p_start, 'end', p_end, 'max_days', 366)::text,
      hint = 'Give a start and end date, start not after end, at most 366 days';
  end if;
end;
$$;

comment on function private.assert_report_period(date, date) is
  'Returns when [p_start, p_end] is a valid analytics period (both given, start not after end, at most 366 days); raises PT400 invalid_request {start, end, max_days} otherwise.';


-- ---------------------------------------------------------------------------
-- Inventory
-- ---------------------------------------------------------------------------

create or replace function public.update_stock(
  p_item_id uuid,
  p_change integer default null,
  p_reason text default 'manual',
  p_note text default null,
  p_reference_id uuid default null,
  p_idempotency_key text default null,
  p_expected_stock integer default null,
  p_set_to integer default null
)
returns jsonb
language plpgsql
volatile
-- security definer: staff may change stock but not other item columns (RLS
-- gives item updates to admins), and stock_history is written only here.
-- The caller is checked by private.assert_shop_role before anything is read
-- for them.
security definer
set search_path = ''
as $$
declare
  v_item record;
  v_request_hash text;
  v_response jsonb;
  v_previous_stock integer;
  v_change integer;
  v_new_stock integer;
  v_history_id bigint;
begin
  if p_item_id is null then
    raise exception using errcode = 'PT400', message = 'invalid_request',
      detail = '{"field": "item_id"}', hint = 'item_id is required';
  end if;
  if (p_change is null) = (p_set_to is null) then
    raise exception using errcode = 'PT400', message = 'invalid_request',
      detail = '{"field": "change"}', hint = 'Give exactly one of change and set_to';
  end if;
  if p_change = 0 then
    raise exception using errcode = 'PT400', message = 'invalid_request',
      detail = '{"field": "change"}', hint = 'change must not be 0';
  end if;
  if p_set_to < 0 or p_expected_stock < 0 then
    raise exception using errcode = 'PT400', message = 'invalid_request',
      detail = pg_catalog.jsonb_build_object('field', case when p_set_to < 0 then 'set_to' else 'expected_stock' end)::text,
      hint = 'Stock values cannot be negative';
  end if;
  if p_reason is null or p_reason not in ('restock', 'sale', 'order_cancelled', 'return', 'damage', 'correction', 'manual') then
    raise exception using errcode = 'PT400', message = 'invalid_request',
      detail = '{"field": "reason"}',
      hint = 'reason must be one of restock, sale, order_cancelled, return, damage, correction, manual';
  end if;

  select i.id, i.shop_id, i.name, i.track_stock
    into v_item
    from public.items i
   where i.id = p_item_id;
  if not found then
    raise exception using errcode = 'PT404', message = 'not_found',
      detail = pg_catalog.jsonb_build_object('item_id', p_item_id)::text, hint = 'No item with this id';
  end if;

  perform private.assert_shop_role(v_item.shop_id, 'staff', 'item', p_item_id);

  v_request_hash := private.request_hash(pg_catalog.jsonb_build_object(
    'item_id', p_item_id, 'change', p_change, 'set_to', p_set_to, 'reason', p_reason,
    'note', p_note, 'reference_id', p_reference_id, 'expected_stock', p_expected_stock));
  v_response := private.idempotency_lookup(v_item.shop_id, p_idempotency_key, 'update_stock', v_request_hash);
  if v_response is not null then
    return v_response;
  end if;

  if not v_item.track_stock then
    raise exception using errcode = 'PT400', message = 'invalid_request',
      detail = pg_catalog.jsonb_build_object('item_id', p_item_id)::text,
      hint = pg_catalog.format('Item %L does not track stock', v_item.name);
  end if;

  -- One row lock, then one conditional update: the stock read here cannot
  -- move until commit, so the compare-and-swap and the set_to arithmetic are
  -- exact, and the update's own guard keeps stock >= 0 whatever happens.
  select i.stock into v_previous_stock
    from public.items i
   where i.id = p_item_id
     for update;

  if p_expected_stock is not null and v_previous_stock <> p_expected_stock then
    raise exception using errcode = 'PT409', message = 'stale_stock',
      detail = pg_catalog.jsonb_build_object('item_id', p_item_id, 'current_stock', v_previous_stock,
                                             'expected_stock', p_expected_stock)::text,
      hint = pg_catalog.format('Item %L now has %s in stock, not %s; reload and try again',
                               v_item.name, v_previous_stock, p_expected_stock);
  end if;

  v_change := coalesce(p_change, p_set_to - v_previous_stock);

  -- Stock is an integer column: a restock past its largest value is refused
  -- here rather than failing the update with an integer-overflow error.
  if v_previous_stock::bigint + v_change > 2147483647 then
    raise exception using errcode = 'PT400', message = 'invalid_request',
      detail = '{"field": "change"}',
      hint = pg_catalog.format('Item %L has %s in stock; the stock cannot exceed 2147483647', v_item.name, v_previous_stock);
  end if;

  if v_change = 0 then
    -- set_to equal to the current stock: a confirmed count, nothing to record.
    v_response := pg_catalog.jsonb_build_object('item_id', p_item_id, 'previous_stock', v_previous_stock,
                                                'new_stock', v_previous_stock, 'history_id', null);
  else
    update public.items i
       set stock = i.stock + v_change
     where i.id = p_item_id
       and i.stock + v_change >= 0
    returning i.stock into v_new_stock;

    if not found then
      raise exception using errcode = 'PT409', message = 'insufficient_stock',
        detail = pg_catalog.jsonb_build_object('item_id', p_item_id, 'available', v_previous_stock,
                                               'requested', -(v_change::bigint))::text,
        hint = pg_catalog.format('Item %L has %s in stock, %s requested', v_item.name, v_previous_stock, -(v_change::bigint));
    end if;

    insert into public.stock_history
      (shop_id, item_id, change, previous_stock, new_stock, reason, reference_id, note, created_by)
    values
      (v_item.shop_id, p_item_id, v_change, v_previous_stock, v_new_stock, p_reason,
       p_reference_id, p_note, auth.uid())
    returning id into v_history_id;

    v_response := pg_catalog.jsonb_build_object('item_id', p_item_id, 'previous_stock', v_previous_stock,
                                                'new_stock', v_new_stock, 'history_id', v_history_id);
  end if;

  perform private.idempotency_store(v_item.shop_id, p_idempotency_key, 'update_stock', v_request_hash, v_response);
  return v_response;
end;
$$;

comment on function public.update_stock(uuid, integer, text, text, uuid, text, integer, integer) is
  'Changes one tracked item''s stock by p_change (non-zero) or to p_set_to (>= 0), atomically: stock never goes negative (PT409 insufficient_stock {item_id, available, requested}); with p_expected_stock it is a compare-and-swap (PT409 stale_stock {current_stock} when the stock moved); a change that would take the stock past 2147483647 is PT400 invalid_request. Writes exactly one stock_history row per change (none when p_set_to equals the stock: history_id null). Staff or above; non-members get PT404 not_found. Replay-safe with p_idempotency_key. Returns {item_id, previous_stock, new_stock, history_id}.';


create or replace function private.order_demand(p_line_items jsonb)
returns table (item_id uuid, quantity bigint)
language sql
immutable
set search_path = ''
as $$
  -- Lines of the same item are summed before any check, so two lines of 3
  -- against a stock of 5 are one demand of 6, not two passing checks of 3.
  select l.item_id, pg_catalog.sum(l.quantity)::bigint
    from private.order_lines(p_line_items) l
   group by l.item_id
$$;

comment on function private.order_demand(jsonb) is
  'Total quantity per item of an order''s line items (lines of one item summed). Callers validate the lines first.';


create or replace function private.begin_order_stock_call(
  p_order_id uuid,
  p_action text,
  p_idempotency_key text,
  out shop_id uuid,
  out request_hash text,
  out stored_response jsonb
)
language plpgsql
volatile
set search_path = ''
as $$
begin
  select o.shop_id into begin_order_stock_call.shop_id
    from public.form_submissions o
   where o.id = p_order_id;
  if not found then
    raise exception using errcode = 'PT404', message = 'not_found',
      detail = pg_catalog.jsonb_build_object('order_id', p_order_id)::text, hint = 'No order with this id';
  end if;

  perform private.assert_shop_role(begin_order_stock_call.shop_id, 'staff', 'order', p_order_id);

  begin_order_stock_call.request_hash := private.request_hash(pg_catalog.jsonb_build_object('order_id', p_order_id));
  begin_order_stock_call.stored_response := private.idempotency_lookup(
    begin_order_stock_call.shop_id, p_idempotency_key, p_action, begin_order_stock_call.request_hash);
end;
$$;

comment on function private.begin_order_stock_call(uuid, text, text) is
  'The shared start of process_order_stock_changes and restore_order_stock: finds the order''s shop (PT404 not_found when the order does not exist), checks the caller is staff or above there (private.assert_shop_role), hashes the arguments and looks up the idempotency key (taking its advisory lock, step 1 of the locking order). stored_response is the answer to replay, or null when the call must run; the caller then locks the order row itself (step 2). No other lock is taken.';


create or replace function public.process_order_stock_changes(
  p_order_id uuid,
  p_idempotency_key text default null
)
returns jsonb
language plpgsql
volatile
-- security definer: staff may deduct stock but not update items directly,
-- and stock_history is written only by these functions. The caller is
-- checked (private.begin_order_stock_call -> assert_shop_role) before the
-- order is used.
security definer
set search_path = ''
as $$
declare
  v_call record;
  v_order record;
  v_response jsonb;
  v_invalid_line integer;
  v_missing jsonb;
  v_shortfalls jsonb;
  v_tracked_count integer;
  v_items jsonb;
begin
  select * into v_call from private.begin_order_stock_call(p_order_id, 'process_order', p_idempotency_key);
  if v_call.stored_response is not null then
    return v_call.stored_response;
  end if;

  -- The order row lock makes a concurrent second call wait here and then see
  -- stock_deducted_at, so an order is deducted at most once.
  select o.id, o.shop_id, o.order_number, o.status::text as status, o.line_items, o.stock_deducted_at
    into v_order
    from public.form_submissions o
   where o.id = p_order_id
     for update;
  if not found then  -- deleted since the first read
    raise exception using errcode = 'PT404', message = 'not_found',
      detail = pg_catalog.jsonb_build_object('order_id', p_order_id)::text, hint = 'No order with this id';
  end if;

  if v_order.stock_deducted_at is not null then
    v_response := pg_catalog.jsonb_build_object('order_id', p_order_id, 'already_processed', true,
                                                'items', '[]'::jsonb);
    perform private.idempotency_store(v_order.shop_id, p_idempotency_key, 'process_order', v_call.request_hash, v_response);
    return v_response;
  end if;

  if v_order.status in ('cancelled', 'refunded') then
    raise exception using errcode = 'PT409', message = 'conflict',
      detail = pg_catalog.jsonb_build_object('order_id', p_order_id, 'status', v_order.status)::text,
      hint = pg_catalog.format('Order #%s is %s; its stock cannot be deducted', v_order.order_number, v_order.status);
  end if;

  select l.line_index into v_invalid_line
    from private.order_lines(v_order.line_items) l
   where l.item_id is null or l.quantity is null or l.quantity <= 0
   order by l.line_index
   limit 1;
  if found then
    raise exception using errcode = 'PT400', message = 'invalid_request',
      detail = pg_catalog.jsonb_build_object('order_id', p_order_id, 'line_index', v_invalid_line)::text,
      hint = pg_catalog.format('Line %s of order #%s needs an item_id and a positive whole quantity',
                               v_invalid_line + 1, v_order.order_number);
  end if;

  -- Lock every item of the order, ascending by id, before the first write:
  -- all order-level functions lock in this one order, so two orders sharing
  -- items queue instead of deadlocking. PERFORM runs the query to the end,
  -- so every lock is really taken here.
  perform 1
     from public.items i
    where i.shop_id = v_order.shop_id
      and i.id in (select d.item_id from private.order_demand(v_order.line_items) d)
    order by i.id
      for update;

  select pg_catalog.jsonb_agg(d.item_id order by d.item_id)
    into v_missing
    from private.order_demand(v_order.line_items) d
   where not exists (select 1 from public.items i where i.id = d.item_id and i.shop_id = v_order.shop_id);
  if v_missing is not null then
    raise exception using errcode = 'PT400', message = 'invalid_request',
      detail = pg_catalog.jsonb_build_object('order_id', p_order_id, 'missing_item_ids', v_missing)::text,
      hint = pg_catalog.format('Order #%s refers to items that are not in this shop', v_order.order_number);
  end if;

  -- Every shortfall is reported, the first (by item id) in the top-level
  -- fields so the answer has the same shape as update_stock's.
  select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('item_id', i.id, 'name', i.name,
                                                            'available', i.stock, 'requested', d.quantity)
                              order by i.id)
    into v_shortfalls
    from private.order_demand(v_order.line_items) d
    join public.items i on i.id = d.item_id and i.shop_id = v_order.shop_id
   where i.track_stock and i.stock < d.quantity;
  if v_shortfalls is not null then
    raise exception using errcode = 'PT409', message = 'insufficient_stock',
      detail = (pg_catalog.jsonb_build_object('order_id', p_order_id)
                || ((v_shortfalls -> 0) - 'name')
                || pg_catalog.jsonb_build_object('shortfalls', v_shortfalls))::text,
      hint = pg_catalog.format('Item %L has %s in stock, %s requested',
                               v_shortfalls -> 0 ->> 'name', v_shortfalls -> 0 ->> 'available',
                               v_shortfalls -> 0 ->> 'requested');
  end if;

  select pg_catalog.count(*)::integer into v_tracked_count
    from private.order_demand(v_order.line_items) d
    join public.items i on i.id = d.item_id and i.shop_id = v_order.shop_id
   where i.track_stock;

  with deducted as (
    update public.items i
       set stock = i.stock - d.quantity
      from private.order_demand(v_order.line_items) d
     where i.id = d.item_id
       and i.shop_id = v_order.shop_id
       and i.track_stock
       and i.stock >= d.quantity
    returning i.id as item_id, d.quantity, (i.stock + d.quantity)::integer as previous_stock, i.stock as new_stock
  ), recorded as (
    insert into public.stock_history (shop_id, item_id, change, previous_stock, new_stock, reason, reference_id, created_by)
    select v_order.shop_id, x.item_id, -x.quantity, x.previous_stock, x.new_stock, 'sale', p_order_id, auth.uid()
      from deducted x
  )
  select coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
           'item_id', x.item_id, 'previous_stock', x.previous_stock, 'new_stock', x.new_stock) order by x.item_id),
         '[]'::jsonb)
    into v_items
    from deducted x;

  -- Cannot fail while the locks above are held; it is here so that an edit
  -- that loses the lock fails loudly instead of half-deducting an order.
  if pg_catalog.jsonb_array_length(v_items) <> v_tracked_count then
    raise exception using errcode = 'PT409', message = 'insufficient_stock',
      detail = pg_catalog.jsonb_build_object('order_id', p_order_id)::text,
      hint = pg_catalog.format('Stock of order #%s changed while it was processed; nothing was deducted',
                               v_order.order_number);
  end if;

  update public.form_submissions o
     set stock_deducted_at = pg_catalog.now()
   where o.id = p_order_id;

  v_response := pg_catalog.jsonb_build_object('order_id', p_order_id, 'already_processed', false, 'items', v_items);
  perform private.idempotency_store(v_order.shop_id, p_idempotency_key, 'process_order', v_call.request_hash, v_response);
  return v_response;
end;
$$;

comment on function public.process_order_stock_changes(uuid, text) is
  'Deducts every tracked line item of an order, all or nothing: lines of one item are summed, the items are locked ascending by id before any write (no deadlock between concurrent orders), each deduction is a conditional update, one stock_history row (reason sale, reference_id = order) per item, stock_deducted_at set. Any shortfall raises PT409 insufficient_stock (every short item in detail.shortfalls) and changes nothing. A second call returns already_processed = true and changes nothing. Untracked items (services) are skipped; items not in the order''s shop, malformed lines -> PT400 invalid_request; cancelled/refunded orders -> PT409 conflict. Staff or above. Returns {order_id, already_processed, items: [{item_id, previous_stock, new_stock}]}.';


create or replace function public.restore_order_stock(
  p_order_id uuid,
  p_idempotency_key text default null
)
returns jsonb
language plpgsql
volatile
-- security definer: same reason as process_order_stock_changes (stock and
-- its history are written only by these functions); caller checked first.
security definer
set search_path = ''
as $$
declare
  v_call record;
  v_order record;
  v_response jsonb;
  v_items jsonb;
  v_overflow record;
begin
  select * into v_call from private.begin_order_stock_call(p_order_id, 'restore_order', p_idempotency_key);
  if v_call.stored_response is not null then
    return v_call.stored_response;
  end if;

  select o.id, o.shop_id, o.order_number, o.status::text as status, o.stock_deducted_at, o.stock_restored_at
    into v_order
    from public.form_submissions o
   where o.id = p_order_id
     for update;
  if not found then  -- deleted since the first read
    raise exception using errcode = 'PT404', message = 'not_found',
      detail = pg_catalog.jsonb_build_object('order_id', p_order_id)::text, hint = 'No order with this id';
  end if;

  if v_order.stock_restored_at is not null then
    v_response := pg_catalog.jsonb_build_object('order_id', p_order_id, 'already_restored', true, 'items', '[]'::jsonb);
    perform private.idempotency_store(v_order.shop_id, p_idempotency_key, 'restore_order', v_call.request_hash, v_response);
    return v_response;
  end if;

  if v_order.status not in ('cancelled', 'refunded') then
    raise exception using errcode = 'PT409', message = 'conflict',
      detail = pg_catalog.jsonb_build_object('order_id', p_order_id, 'status', v_order.status)::text,
      hint = pg_catalog.format('Order #%s is %s; only cancelled or refunded orders get their stock back',
                               v_order.order_number, v_order.status);
  end if;

  if v_order.stock_deducted_at is null then
    raise exception using errcode = 'PT409', message = 'conflict',
      detail = pg_catalog.jsonb_build_object('order_id', p_order_id, 'stock_deducted', false)::text,
      hint = pg_catalog.format('Order #%s never had its stock deducted; there is nothing to put back',
                               v_order.order_number);
  end if;

  -- What is put back is what was taken (the order's sale movements), not the
  -- current line items, which may have been edited since.
  perform 1
     from public.items i
    where i.id in (select h.item_id from public.stock_history h
                    where h.reference_id = p_order_id and h.reason = 'sale' and h.shop_id = v_order.shop_id)
    order by i.id
      for update;

  -- Stock is an integer column: an item restocked close to its largest value
  -- since the sale cannot take the order's units back; refused as a conflict
  -- rather than failing the update with an integer-overflow error.
  select i.name, i.stock, -pg_catalog.sum(h.change) as quantity
    into v_overflow
    from public.stock_history h
    join public.items i on i.id = h.item_id
   where h.reference_id = p_order_id and h.reason = 'sale' and h.shop_id = v_order.shop_id and i.track_stock
   group by i.id, i.name, i.stock
  having i.stock::bigint - pg_catalog.sum(h.change) > 2147483647
   order by i.id
   limit 1;
  if found then
    raise exception using errcode = 'PT409', message = 'conflict',
      detail = pg_catalog.jsonb_build_object('order_id', p_order_id, 'reason', 'stock_out_of_range')::text,
      hint = pg_catalog.format('Item %L has %s in stock; putting back %s would exceed 2147483647',
                               v_overflow.name, v_overflow.stock, v_overflow.quantity);
  end if;

  with taken as (
    select h.item_id, (-pg_catalog.sum(h.change))::integer as quantity
      from public.stock_history h
     where h.reference_id = p_order_id and h.reason = 'sale' and h.shop_id = v_order.shop_id
     group by h.item_id
  ), restored as (
    update public.items i
       set stock = i.stock + t.quantity
      from taken t
     where i.id = t.item_id
       and i.track_stock
       and t.quantity > 0
    returning i.id as item_id, t.quantity, i.stock - t.quantity as previous_stock, i.stock as new_stock
  ), recorded as (
    insert into public.stock_history (shop_id, item_id, change, previous_stock, new_stock, reason, reference_id, created_by)
    select v_order.shop_id, r.item_id, r.quantity, r.previous_stock, r.new_stock, 'order_cancelled', p_order_id, auth.uid()
      from restored r
  )
  select coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
           'item_id', r.item_id, 'previous_stock', r.previous_stock, 'new_stock', r.new_stock) order by r.item_id),
         '[]'::jsonb)
    into v_items
    from restored r;

  update public.form_submissions o
     set stock_restored_at = pg_catalog.now()
   where o.id = p_order_id;

  v_response := pg_catalog.jsonb_build_object('order_id', p_order_id, 'already_restored', false, 'items', v_items);
  perform private.idempotency_store(v_order.shop_id, p_idempotency_key, 'restore_order', v_call.request_hash, v_response);
  return v_response;
end;
$$;

comment on function public.restore_order_stock(uuid, text) is
  'Puts back, once, the stock that process_order_stock_changes took for a cancelled or refunded order (the quantities of its sale movements, not its current lines), with one stock_history row (reason order_cancelled) per item; items locked ascending by id. A second call returns already_restored = true and changes nothing. Orders in another status, or never deducted, or an item whose stock would pass 2147483647 -> PT409 conflict (nothing changed). Staff or above. Returns {order_id, already_restored, items: [{item_id, previous_stock, new_stock}]}.';


create or replace function public.get_low_stock_items(
  p_shop_id uuid,
  p_threshold integer default null
)
returns jsonb
language plpgsql
stable
set search_path = ''
as $$
declare
  v_items jsonb;
begin
  if p_threshold < 0 then
    raise exception using errcode = 'PT400', message = 'invalid_request',
      detail = '{"field": "threshold"}', hint = 'threshold cannot be negative';
  end if;

  perform private.assert_shop_role(p_shop_id, 'viewer', 'shop', p_shop_id);

  select coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
           'id', x.id, 'name', x.name, 'sku', x.sku, 'stock', x.stock, 'threshold', x.threshold)
           order by x.stock, x.name, x.id), '[]'::jsonb)
    into v_items
    from (
      select i.id, i.name, i.sku, i.stock,
             coalesce(p_threshold, i.low_stock_threshold, s.default_low_stock_threshold) as threshold
        from public.items i
        join public.shops s on s.id = i.shop_id
       where i.shop_id = p_shop_id
         and i.track_stock
         and i.is_active
    ) x
   where x.stock <= x.threshold;

  return pg_catalog.jsonb_build_object('items', v_items);
end;
$$;

comment on function public.get_low_stock_items(uuid, integer) is
  'Tracked, active items of a shop whose stock is at or below the threshold: p_threshold when given, else the item''s low_stock_threshold, else the shop''s default_low_stock_threshold. Lowest stock first. Any member; runs with the caller''s rights (RLS applies). Returns {items: [{id, name, sku, stock, threshold}]}.';


-- ---------------------------------------------------------------------------
-- Analytics
-- ---------------------------------------------------------------------------

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
    select pg_catalog.count(*)::integer as orders,
           (pg_catalog.count(*) filter (where status in ('completed', 'delivered')))::integer as completed,
           (pg_catalog.count(*) filter (where status in ('cancelled', 'refunded')))::integer as cancelled,
           coalesce(pg_catalog.sum(subtotal) filter (where status in ('completed', 'delivered')), 0) as gross_revenue,
           coalesce(pg_catalog.sum(discount) filter (where status in ('completed', 'delivered')), 0) as discounts,
           (pg_catalog.count(distinct customer) filter (where status in ('completed', 'delivered')))::integer
             as unique_customers
      from day_orders
  ), line_totals as (
    select coalesce(pg_catalog.sum(quantity), 0)::integer as items_sold,
           coalesce(pg_catalog.sum(cost), 0) as cost_of_goods
      from revenue_lines
  ), categories as (
    select coalesce(pg_catalog.jsonb_object_agg(c.category, pg_catalog.jsonb_build_object(
             'units', c.units, 'revenue', c.revenue)), '{}'::jsonb) as breakdown
      from (select category, pg_catalog.sum(quantity) as units, pg_catalog.round(pg_catalog.sum(revenue), 2) as revenue
              from revenue_lines group by category) c
  )
  insert into public.daily_sales_metrics as m (
    shop_id, date, orders, completed, cancelled, gross_revenue, discounts, net_revenue, cost_of_goods,
    gross_profit, items_sold, average_order_value, unique_customers, category_breakdown, computed_at)
  select p_shop_id, p_date, t.orders, t.completed, t.cancelled, t.gross_revenue, t.discounts,
         t.gross_revenue - t.discounts,
         pg_catalog.round(l.cost_of_goods, 2),
         t.gross_revenue - t.discounts - pg_catalog.round(l.cost_of_goods, 2),
         l.items_sold,
         case when t.completed > 0 then pg_catalog.round((t.gross_revenue - t.discounts) / t.completed, 2) else 0 end,
         t.unique_customers, c.breakdown, pg_catalog.now()
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


create or replace function public.generate_daily_sales_metrics(
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
      coalesce(p_date, (pg_catalog.now() at time zone v_shop.timezone)::date - 1));
    return pg_catalog.to_jsonb(v_row);
  end if;

  if not (private.is_trusted_caller() or private.is_platform_admin()) then
    raise exception using errcode = 'PT403', message = 'forbidden',
      detail = '{"field": "shop_id"}',
      hint = 'Metrics for all shops need a platform admin; pass shop_id for your own shop';
  end if;

  -- Each shop's own yesterday when no date is given: at 02:00 UTC that is a
  -- different calendar day in Honolulu than in Tokyo.
  for v_shop in select s.id, s.timezone from public.shops s order by s.id loop
    perform private.compute_daily_sales_metrics(
      v_shop.id,
      coalesce(p_date, (pg_catalog.now() at time zone v_shop.timezone)::date - 1));
    v_shops := v_shops + 1;
  end loop;

  return pg_catalog.jsonb_build_object('date', p_date, 'shops', v_shops);
end;
$$;

comment on function public.generate_daily_sales_metrics(date, uuid) is
  'Recomputes (upsert) daily_sales_metrics for one local day: for p_shop_id (staff or above; returns the row) or for every shop when p_shop_id is null (trusted caller or platform admin; returns {date, shops}). p_date null = yesterday in each shop''s own time zone (then date in the answer is null). Day boundaries are local midnights of the shop''s time zone; re-running gives the same row (computed_at aside), picking up late or edited orders. Revenue orders: completed or delivered.';


create or replace function public.generate_product_analytics(
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
           pg_catalog.sum(l.quantity) as units,
           pg_catalog.sum(l.quantity * coalesce(l.unit_price, 0)) as revenue,
           pg_catalog.sum(l.quantity * coalesce(l.unit_cost, i.cost, 0)) as cost,
           pg_catalog.count(distinct o.id) as order_count
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
    select h.item_id, pg_catalog.sum(h.change) as change
      from public.stock_history h
     where h.shop_id = p_shop_id
       and h.created_at >= v_period_end
     group by h.item_id
  ), measured as (
    select i.id as item_id,
           coalesce(s.units, 0)::integer as units_sold,
           pg_catalog.round(coalesce(s.revenue, 0), 2) as revenue,
           pg_catalog.round(coalesce(s.cost, 0), 2) as cost,
           coalesce(s.order_count, 0)::integer as order_count,
           case when i.track_stock then (i.stock - coalesce(c.change, 0))::integer end as stock_at_end
      from public.items i
      left join sold s on s.item_id = i.id
      left join later_changes c on c.item_id = i.id
     where i.shop_id = p_shop_id
       and (i.is_active or s.item_id is not null)
  ), ranked as (
    select m.*,
           coalesce(pg_catalog.sum(m.revenue) over (order by m.revenue desc, m.item_id
                                                    rows between unbounded preceding and 1 preceding), 0)
             as revenue_before,
           pg_catalog.sum(m.revenue) over () as total_revenue
      from measured m
  ), upserted as (
    insert into public.product_analytics as pa (
      shop_id, item_id, period_start, period_end, units_sold, revenue, cost, profit, margin_pct, order_count,
      stock_at_end, sell_through_rate, days_of_cover, abc_class, computed_at)
    select p_shop_id, r.item_id, p_start, p_end, r.units_sold, r.revenue, r.cost, r.revenue - r.cost,
           case when r.revenue > 0 then pg_catalog.round((r.revenue - r.cost) / r.revenue * 100, 2) end,
           r.order_count,
           r.stock_at_end,
           case when r.units_sold + coalesce(r.stock_at_end, 0) > 0 and r.stock_at_end is not null
                then pg_catalog.round(r.units_sold::numeric / (r.units_sold + r.stock_at_end), 4) end,
           case when r.units_sold > 0 and r.stock_at_end is not null
                then pg_catalog.round(r.stock_at_end::numeric / (r.units_sold::numeric / v_days), 2) end,
           -- A: the items that make the first 80% of revenue (the item that
           -- crosses 80% included), B: the next 15%, C: the rest and unsold.
           case when r.revenue <= 0 then 'C'
                when r.revenue_before < 0.80 * r.total_revenue then 'A'
                when r.revenue_before < 0.95 * r.total_revenue then 'B'
                else 'C' end,
           pg_catalog.now()
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
  select coalesce(pg_catalog.jsonb_agg(pg_catalog.to_jsonb(u) order by u.revenue desc, u.item_id), '[]'::jsonb)
    into v_rows
    from upserted u;

  return pg_catalog.jsonb_build_object('rows', v_rows);
end;
$$;

comment on function public.generate_product_analytics(uuid, date, date) is
  'Recomputes (upsert) product_analytics of every active or sold item of a shop for the local-date period [p_start, p_end] (at most 366 days; shop time zone). Counts completed and delivered orders. stock_at_end = current stock minus later movements (null when untracked); sell_through_rate = units / (units + stock_at_end); days_of_cover = stock_at_end / (units per day), null when none sold; abc_class by cumulative revenue share (A first 80%, B next 15%, C rest). Staff or above. Returns {rows: [...]} by revenue, highest first.';


create or replace function public.get_sales_metrics(
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

  select coalesce(pg_catalog.jsonb_agg(pg_catalog.to_jsonb(m) order by m.date), '[]'::jsonb),
         pg_catalog.jsonb_build_object(
           'days', pg_catalog.count(*),
           'orders', coalesce(pg_catalog.sum(m.orders), 0),
           'completed', coalesce(pg_catalog.sum(m.completed), 0),
           'cancelled', coalesce(pg_catalog.sum(m.cancelled), 0),
           'gross_revenue', coalesce(pg_catalog.sum(m.gross_revenue), 0),
           'discounts', coalesce(pg_catalog.sum(m.discounts), 0),
           'net_revenue', coalesce(pg_catalog.sum(m.net_revenue), 0),
           'cost_of_goods', coalesce(pg_catalog.sum(m.cost_of_goods), 0),
           'gross_profit', coalesce(pg_catalog.sum(m.gross_profit), 0),
           'items_sold', coalesce(pg_catalog.sum(m.items_sold), 0),
           'average_order_value',
             case when coalesce(pg_catalog.sum(m.completed), 0) > 0
                  then pg_catalog.round(pg_catalog.sum(m.net_revenue) / pg_catalog.sum(m.completed), 2)
                  else 0 end)
    into v_days, v_totals
    from public.daily_sales_metrics m
   where m.shop_id = p_shop_id
     and m.date between p_start and p_end;

  return pg_catalog.jsonb_build_object('days', v_days, 'totals', v_totals);
end;
$$;

comment on function public.get_sales_metrics(uuid, date, date) is
  'The pre-aggregated daily_sales_metrics rows of a shop for [p_start, p_end] (at most 366 days, else PT400 invalid_request) and their totals; never reads orders. Days not yet generated are absent (totals.days counts the rows). unique_customers is not summed (customers repeat across days). Any member; runs with the caller''s rights. Returns {days: [...], totals: {...}}.';


create or replace function public.get_shop_stats(p_shop_id uuid)
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

  v_today := (pg_catalog.now() at time zone v_shop.timezone)::date;
  v_today_start := (select b.day_start from private.local_day_bounds(v_today, v_shop.timezone) b);
  v_month_start := (select b.day_start
                      from private.local_day_bounds(pg_catalog.date_trunc('month', v_today)::date, v_shop.timezone) b);

  select pg_catalog.jsonb_build_object(
           'total', pg_catalog.count(*),
           'active', pg_catalog.count(*) filter (where i.is_active),
           'tracked', pg_catalog.count(*) filter (where i.is_active and i.track_stock),
           'low_stock', pg_catalog.count(*) filter (
              where i.is_active and i.track_stock
                and i.stock <= coalesce(i.low_stock_threshold, v_shop.default_low_stock_threshold)),
           'out_of_stock', pg_catalog.count(*) filter (where i.is_active and i.track_stock and i.stock = 0))
    into v_items
    from public.items i
   where i.shop_id = p_shop_id;

  select pg_catalog.jsonb_build_object(
           'today', pg_catalog.jsonb_build_object(
              'orders', pg_catalog.count(*) filter (where o.submitted_at >= v_today_start),
              'revenue', coalesce(pg_catalog.sum(o.subtotal - o.discount) filter (
                 where o.submitted_at >= v_today_start and o.status::text in ('completed', 'delivered')), 0)),
           'month', pg_catalog.jsonb_build_object(
              'orders', pg_catalog.count(*),
              'revenue', coalesce(pg_catalog.sum(o.subtotal - o.discount) filter (
                 where o.status::text in ('completed', 'delivered')), 0)),
           'open_this_month', pg_catalog.count(*) filter (
              where o.status::text in ('pending', 'confirmed', 'processing', 'shipped')))
    into v_orders
    from public.form_submissions o
   where o.shop_id = p_shop_id
     and o.submitted_at >= v_month_start;

  select pg_catalog.count(*)::integer into v_open_conversations
    from public.conversations c
   where c.shop_id = p_shop_id
     and c.status::text = 'open';

  return pg_catalog.jsonb_build_object(
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
-- Grants: deny by default (Supabase grants execute to anon on new functions),
-- then give each function to the roles that call it.
-- ---------------------------------------------------------------------------

revoke execute on function
  private.request_hash(jsonb),
  private.idempotency_lookup(uuid, text, text, text),
  private.idempotency_store(uuid, text, text, text, jsonb),
  private.assert_shop_role(uuid, public.team_role, text, uuid),
  private.order_lines(jsonb),
  private.order_demand(jsonb),
  private.begin_order_stock_call(uuid, text, text),
  private.local_day_bounds(date, text),
  private.assert_report_period(date, date),
  private.compute_daily_sales_metrics(uuid, date)
from public, anon, authenticated;

-- The invoker-rights readers below call these as the caller.
grant execute on function
  private.assert_shop_role(uuid, public.team_role, text, uuid),
  private.local_day_bounds(date, text),
  private.assert_report_period(date, date)
to authenticated, service_role;

revoke execute on function
  public.update_stock(uuid, integer, text, text, uuid, text, integer, integer),
  public.process_order_stock_changes(uuid, text),
  public.restore_order_stock(uuid, text),
  public.get_low_stock_items(uuid, integer),
  public.generate_daily_sales_metrics(date, uuid),
  public.generate_product_analytics(uuid, date, date),
  public.get_sales_metrics(uuid, date, date),
  public.get_shop_stats(uuid)
from public, anon;

grant execute on function
  public.update_stock(uuid, integer, text, text, uuid, text, integer, integer),
  public.process_order_stock_changes(uuid, text),
  public.restore_order_stock(uuid, text),
  public.get_low_stock_items(uuid, integer),
  public.generate_daily_sales_metrics(date, uuid),
  public.generate_product_analytics(uuid, date, date),
  public.get_sales_metrics(uuid, date, date),
  public.get_shop_stats(uuid)
to authenticated, service_role;

-- ---------------------------------------------------------------------------
-- Platform administration: platform metrics, per-shop logical backups and
-- restores. Everything here is platform-wide, so every entry point requires a
-- trusted caller (service_role, pg_cron / the database owner) or a platform
-- admin; a shop owner gets `forbidden`.
-- ---------------------------------------------------------------------------

-- Raises PT403 forbidden unless the caller may do platform-wide work.
create or replace function private.assert_platform_operator(p_action text)
returns void
language plpgsql
stable
set search_path = ''
as $$
begin
  if not (private.is_trusted_caller() or private.is_platform_admin()) then
    raise exception using
      errcode = 'PT403',
      message = 'forbidden',
      detail = jsonb_build_object('action', p_action)::text,
      hint = 'Only platform admins may ' || replace(p_action, '_', ' ') || '.';
  end if;
end;
$$;

comment on function private.assert_platform_operator(text) is
  'Raises PT403 forbidden unless the caller is a trusted caller (service_role, pg_cron, the database owner) or a platform admin.';

-- ---------------------------------------------------------------------------
-- Platform metrics
-- ---------------------------------------------------------------------------

create or replace function public.generate_platform_metrics(p_date date default null)
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
    raise exception using
      errcode = 'PT400',
      message = 'invalid_request',
      detail = jsonb_build_object('field', 'date', 'date', v_date)::text,
      hint = 'Platform metrics cannot be generated for a future day.';
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

create or replace function public.get_platform_stats(p_start date default null, p_end date default null)
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
    raise exception using
      errcode = 'PT400',
      message = 'invalid_request',
      detail = jsonb_build_object('field', 'start_date', 'start_date', v_start, 'end_date', v_end)::text,
      hint = 'The range must start on or before its end and span at most 366 days.';
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

-- ---------------------------------------------------------------------------
-- Backups: what a snapshot holds and how it is written down
-- ---------------------------------------------------------------------------
--
-- A snapshot is one shop's rows of every shop-scoped table:
--   data = {"<table>": [row, ...], ...}, each row to_jsonb(row) (minus the
--   excluded columns below), rows ordered by primary key.
-- Canonical form: the text output of that jsonb value. PostgreSQL renders
-- jsonb deterministically (object keys sorted by length then bytes, one space
-- after ',' and ':', arrays in order), and the snapshot is built with
-- timezone = UTC, bytea_output = hex, intervalstyle = postgres and
-- extra_float_digits = 1, so the same rows always give the same text.
-- checksum = lower-case hex sha256 of that text's UTF-8 bytes;
-- size_bytes = its length in bytes.
--
-- Not in snapshots: the shop's billing columns (subscription_*,
-- billing_interval: billing is the platform's ledger, a restore must not
-- resurrect a cancelled plan or undo a payment), subscription_events (the
-- platform's ledger), idempotency_keys (24 h replay cache), backup_logs and
-- recovery_snapshots themselves. Test 040 fails when a new table with a
-- shop_id is neither listed here nor excluded on purpose.

create or replace function private.backup_tables()
returns table (table_name text, restore_order integer, scope_column text, excluded_columns text[])
language sql
immutable
set search_path = ''
as $$
  -- restore_order: parents before children (inserts go in this order,
  -- deletes in reverse).
  select t.table_name, t.restore_order, t.scope_column, t.excluded_columns
  from (values
    ('shops', 1, 'id', array['subscription_plan', 'subscription_status', 'subscription_amount',
                             'billing_interval', 'subscription_started_at', 'subscription_canceled_at']),
    ('team_members', 2, 'shop_id', array[]::text[]),
    ('payment_methods', 3, 'shop_id', array[]::text[]),
    ('forms', 4, 'shop_id', array[]::text[]),
    ('items', 5, 'shop_id', array[]::text[]),
    ('conversations', 6, 'shop_id', array[]::text[]),
    ('form_submissions', 7, 'shop_id', array[]::text[]),
    ('messages', 8, 'shop_id', array[]::text[]),
    ('stock_history', 9, 'shop_id', array[]::text[]),
    ('keyword_replies', 10, 'shop_id', array[]::text[]),
    ('saved_replies', 11, 'shop_id', array[]::text[]),
    ('daily_sales_metrics', 12, 'shop_id', array[]::text[]),
    ('product_analytics', 13, 'shop_id', array[]::text[]),
    ('sync_status', 14, 'shop_id', array[]::text[]),
    ('social_integrations', 15, 'shop_id', array[]::text[]),
    ('data_extensions', 16, 'shop_id', array[]::text[])
  ) as t (table_name, restore_order, scope_column, excluded_columns)
$$;

comment on function private.backup_tables() is
  'The shop-scoped tables a recovery snapshot holds, in restore order (parents first), with the column that scopes them '
  'to a shop and the columns left out of snapshots.';

-- The primary key columns of a public table, in key order.
create or replace function private.primary_key_columns(p_table text)
returns text[]
language sql
stable
set search_path = ''
as $$
  select array_agg(a.attname::text order by k.ordinality)
  from pg_catalog.pg_index i
  cross join lateral unnest(i.indkey) with ordinality as k (attnum, ordinality)
  join pg_catalog.pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum
  where i.indrelid = pg_catalog.to_regclass('public.' || pg_catalog.quote_ident(p_table))
    and i.indisprimary
$$;

comment on function private.primary_key_columns(text) is
  'The primary key columns of public.<p_table>, in key order.';

-- The writable columns of a public table (generated columns are recomputed,
-- never written), minus the given ones.
create or replace function private.restorable_columns(p_table text, p_excluded text[])
returns text[]
language sql
stable
set search_path = ''
as $$
  select array_agg(a.attname::text order by a.attnum)
  from pg_catalog.pg_attribute a
  where a.attrelid = pg_catalog.to_regclass('public.' || pg_catalog.quote_ident(p_table))
    and a.attnum > 0
    and not a.attisdropped
    and a.attgenerated = ''
    and a.attname::text <> all (p_excluded)
$$;

comment on function private.restorable_columns(text, text[]) is
  'The columns of public.<p_table> a restore writes: not dropped, not generated, not excluded from snapshots.';

-- A jsonb expression for a row's primary key, from the jsonb row in p_row_expr:
-- the bare value for a one-column key, an object for a composite key.
create or replace function private.primary_key_expression(p_table text, p_row_expr text)
returns text
language sql
stable
set search_path = ''
as $$
  select case
    when array_length(pk.columns, 1) = 1 then format('(%s -> %L)', p_row_expr, pk.columns[1])
    else format('jsonb_build_object(%s)',
                (select string_agg(format('%L, %s -> %L', c, p_row_expr, c), ', ') from unnest(pk.columns) c))
  end
  from (select private.primary_key_columns(p_table) as columns) pk
$$;

comment on function private.primary_key_expression(text, text) is
  'SQL text of a jsonb expression giving the primary key of the jsonb row p_row_expr of public.<p_table>.';

-- SQL fragments to match snapshot rows (jsonb elements r.value) with live
-- rows (t) on their typed primary key, as pk_1, pk_2, ... columns.
create or replace function private.primary_key_sql(
  p_table text,
  out snapshot_keys text,  -- (r.value ->> 'id')::uuid as pk_1, ...
  out live_keys text,      -- t.id as pk_1, ...
  out key_match text,      -- s.pk_1 = l.pk_1 and ...
  out row_match text       -- t.id = l.pk_1 and ...
)
language sql
stable
set search_path = ''
as $$
  select
    string_agg(format('(r.value ->> %L)::%s as pk_%s', a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), k.n), ', '),
    string_agg(format('t.%I as pk_%s', a.attname, k.n), ', '),
    string_agg(format('s.pk_%1$s = l.pk_%1$s', k.n), ' and '),
    string_agg(format('t.%I = l.pk_%s', a.attname, k.n), ' and ')
  from pg_catalog.pg_index i
  cross join lateral unnest(i.indkey) with ordinality as k (attnum, n)
  join pg_catalog.pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum
  where i.indrelid = pg_catalog.to_regclass('public.' || pg_catalog.quote_ident(p_table))
    and i.indisprimary
$$;

comment on function private.primary_key_sql(text) is
  'SQL fragments that match snapshot rows with live rows of public.<p_table> on their typed primary key.';

-- One statement reads every table of the shop, so the snapshot is a single
-- MVCC view of the shop (no order half-written between two tables).
create or replace function private.shop_snapshot_data(p_shop_id uuid)
returns jsonb
language plpgsql
stable
set search_path = ''
-- fixed output settings: the canonical text (and so the checksum) must not
-- depend on the caller's session
set timezone = 'UTC'
set bytea_output = 'hex'
set intervalstyle = 'postgres'
set extra_float_digits = 1
as $$
declare
  v_parts text;
  v_data jsonb;
begin
  select string_agg(
           format(
             '%L, (select coalesce(jsonb_agg(to_jsonb(t) - %L::text[] order by %s), ''[]''::jsonb) from public.%I t where t.%I = $1)',
             b.table_name,
             b.excluded_columns,
             (select string_agg(format('t.%I', c), ', ') from unnest(private.primary_key_columns(b.table_name)) c),
             b.table_name,
             b.scope_column
           ),
           ', ' order by b.restore_order)
    into v_parts
  from private.backup_tables() b;

  execute 'select jsonb_build_object(' || v_parts || ')' into v_data using p_shop_id;
  return v_data;
end;
$$;

comment on function private.shop_snapshot_data(uuid) is
  'One shop''s rows of every table of private.backup_tables(), as {table: [rows ordered by primary key]}, read in one '
  'statement (one consistent view) with session-independent output settings.';

create or replace function private.snapshot_checksum(p_data jsonb)
returns text
language sql
immutable
set search_path = ''
as $$
  select encode(pg_catalog.sha256(convert_to(p_data::text, 'UTF8')), 'hex')
$$;

comment on function private.snapshot_checksum(jsonb) is
  'Lower-case hex sha256 of the UTF-8 bytes of the canonical (jsonb text) form of a snapshot''s data.';

create or replace function private.write_snapshot(p_shop_id uuid, p_snapshot_type text, p_backup_log_id uuid)
returns public.recovery_snapshots
language plpgsql
volatile
set search_path = ''
as $$
declare
  v_data jsonb := private.shop_snapshot_data(p_shop_id);
  v_canonical bytea := convert_to(v_data::text, 'UTF8');
  v_snapshot public.recovery_snapshots;
begin
  insert into public.recovery_snapshots
    (shop_id, snapshot_type, data, checksum, row_counts, size_bytes, backup_log_id, created_by)
  values (
    p_shop_id,
    p_snapshot_type,
    v_data,
    -- the bytes private.snapshot_checksum hashes, rendered once
    encode(pg_catalog.sha256(v_canonical), 'hex'),
    (select jsonb_object_agg(t.key, jsonb_array_length(t.value)) from jsonb_each(v_data) t),
    octet_length(v_canonical),
    p_backup_log_id,
    auth.uid()
  )
  returning * into v_snapshot;
  return v_snapshot;
end;
$$;

comment on function private.write_snapshot(uuid, text, uuid) is
  'Takes and stores one snapshot of the shop (data, checksum, row_counts, size_bytes) and returns the row. '
  'Caller must be authorized.';

-- ---------------------------------------------------------------------------
-- create_backup_snapshot
-- ---------------------------------------------------------------------------

create or replace function public.create_backup_snapshot(
  p_shop_id uuid default null,
  p_backup_type text default 'manual',
  p_idempotency_key text default null
)
returns jsonb
language plpgsql
volatile
-- security definer: reads every row of the shops it backs up, whatever RLS
-- would show the caller, and writes recovery_snapshots / backup_logs, which no
-- client role may write; the caller is checked first.
security definer
set search_path = ''
as $$
declare
  v_action constant text := 'create_backup_snapshot';
  v_request_hash text := private.request_hash(
    jsonb_build_object('shop_id', p_shop_id, 'backup_type', p_backup_type));
  v_stored jsonb;
  v_log_id uuid;
  v_shop record;
  v_snapshot public.recovery_snapshots;
  v_snapshots jsonb := '[]'::jsonb;
  v_failures jsonb := '[]'::jsonb;
  v_total_counts jsonb := '{}'::jsonb;
  v_total_bytes bigint := 0;
  v_response jsonb;
begin
  perform private.assert_platform_operator(v_action);

  if p_backup_type is null or p_backup_type not in ('daily', 'weekly', 'manual') then
    raise exception using
      errcode = 'PT400',
      message = 'invalid_request',
      detail = jsonb_build_object('field', 'backup_type', 'allowed', jsonb_build_array('daily', 'weekly', 'manual'))::text,
      hint = 'backup_type must be daily, weekly or manual.';
  end if;

  if p_shop_id is not null and not exists (select 1 from public.shops s where s.id = p_shop_id) then
    raise exception using
      errcode = 'PT404',
      message = 'not_found',
      detail = jsonb_build_object('shop_id', p_shop_id)::text,
      hint = 'No such shop.';
  end if;

  v_stored := private.idempotency_lookup(p_shop_id, p_idempotency_key, v_action, v_request_hash);
  if v_stored is not null then
    return v_stored;
  end if;

  insert into public.backup_logs (operation, backup_type, shop_id, status, started_at, triggered_by)
  values ('backup', p_backup_type, p_shop_id, 'running', now(), auth.uid())
  returning id into v_log_id;

  for v_shop in
    select s.id from public.shops s
    where p_shop_id is null or s.id = p_shop_id
    order by s.id
  loop
    -- One shop failing (e.g. too large to render in memory) must not lose
    -- the others' snapshots: each shop is its own subtransaction, failures
    -- are logged. A statement timeout cancels the whole call instead.
    begin
      v_snapshot := private.write_snapshot(v_shop.id, p_backup_type, v_log_id);

      v_snapshots := v_snapshots || jsonb_build_array(jsonb_build_object(
        'id', v_snapshot.id,
        'shop_id', v_snapshot.shop_id,
        'row_counts', v_snapshot.row_counts,
        'checksum', v_snapshot.checksum));
      v_total_bytes := v_total_bytes + v_snapshot.size_bytes;
      select coalesce(jsonb_object_agg(k, coalesce((v_total_counts ->> k)::bigint, 0)
                                          + coalesce((v_snapshot.row_counts ->> k)::bigint, 0)), '{}'::jsonb)
        into v_total_counts
      from (select jsonb_object_keys(v_total_counts) union select jsonb_object_keys(v_snapshot.row_counts)) keys (k);
    exception when others then
      v_failures := v_failures || jsonb_build_array(jsonb_build_object(
        'shop_id', v_shop.id, 'sqlstate', sqlstate, 'error', sqlerrm));
    end;
  end loop;

  update public.backup_logs l set
    status = case when jsonb_array_length(v_failures) = 0 then 'completed' else 'failed' end,
    completed_at = now(),
    snapshot_ids = (select coalesce(array_agg((s ->> 'id')::uuid), array[]::uuid[])
                    from jsonb_array_elements(v_snapshots) s),
    row_counts = v_total_counts,
    size_bytes = v_total_bytes,
    error_message = case when jsonb_array_length(v_failures) = 0 then null else v_failures::text end
  where l.id = v_log_id;

  v_response := jsonb_build_object(
    'backup_log_id', v_log_id,
    'status', case when jsonb_array_length(v_failures) = 0 then 'completed' else 'failed' end,
    'snapshots', v_snapshots,
    'failures', v_failures);

  perform private.idempotency_store(p_shop_id, p_idempotency_key, v_action, v_request_hash, v_response);
  return v_response;
end;
$$;

comment on function public.create_backup_snapshot(uuid, text, text) is
  'Writes one recovery_snapshots row per shop (all shops when p_shop_id is null): data = {table: [rows ordered by '
  'primary key]} of every table of private.backup_tables(), read in one consistent statement per shop; checksum = '
  'sha256 hex of data''s jsonb text; row_counts; size_bytes. Logged in backup_logs (completed, or failed with the '
  'per-shop errors in error_message; snapshots of the shops that succeeded are kept). Returns {backup_log_id, status, '
  'snapshots: [{id, shop_id, row_counts, checksum}], failures: [...]}. With p_idempotency_key, a replay returns the '
  'first response and writes nothing; other arguments with the same key are PT422 idempotency_conflict. '
  'Trusted callers and platform admins only (PT403 forbidden); unknown shop PT404 not_found; bad type PT400.';

-- ---------------------------------------------------------------------------
-- restore_backup_snapshot
-- ---------------------------------------------------------------------------

-- Differences between a snapshot's data and the shop's rows now, per table:
-- {insert|update|delete: {count, keys (first 100 primary keys)}}.
create or replace function private.snapshot_differences(p_shop_id uuid, p_data jsonb)
returns jsonb
language plpgsql
stable
set search_path = ''
-- the live rows are rendered exactly as the snapshot was
set timezone = 'UTC'
set bytea_output = 'hex'
set intervalstyle = 'postgres'
set extra_float_digits = 1
as $$
declare
  v_table record;
  v_snapshot_keys text;
  v_live_keys text;
  v_key_match text;
  v_table_diff jsonb;
  v_differences jsonb := '{}'::jsonb;
begin
  for v_table in select * from private.backup_tables() order by restore_order loop
    -- Rows are matched on their typed primary key (hashable, cheap) and
    -- compared as jsonb; each side is rendered once (materialized).
    select k.snapshot_keys, k.live_keys, k.key_match
      into v_snapshot_keys, v_live_keys, v_key_match
    from private.primary_key_sql(v_table.table_name) k;

    execute format(
      $sql$
      with snapshot_rows as materialized (
        select r.value as row, %1$s
        from jsonb_array_elements(coalesce($2, '[]'::jsonb)) r
      ),
      live_rows as materialized (
        select to_jsonb(t) - %3$L::text[] as row, %2$s
        from public.%4$I t where t.%5$I = $1
      ),
      compared as materialized (
        select
          coalesce(s.row, l.row) as any_row,
          case
            when l.row is null then 'insert'
            when s.row is null then 'delete'
            when s.row <> l.row then 'update'
          end as change
        from snapshot_rows s
        full join live_rows l on %6$s
      ),
      changes as (
        select %7$s as key, change from compared where change is not null
      )
      select jsonb_build_object(
        'insert', jsonb_build_object(
          'count', count(*) filter (where change = 'insert'),
          'keys', coalesce(jsonb_path_query_array(jsonb_agg(key order by key) filter (where change = 'insert'), '$[0 to 99]'), '[]')),
        'update', jsonb_build_object(
          'count', count(*) filter (where change = 'update'),
          'keys', coalesce(jsonb_path_query_array(jsonb_agg(key order by key) filter (where change = 'update'), '$[0 to 99]'), '[]')),
        'delete', jsonb_build_object(
          'count', count(*) filter (where change = 'delete'),
          'keys', coalesce(jsonb_path_query_array(jsonb_agg(key order by key) filter (where change = 'delete'), '$[0 to 99]'), '[]'))
      )
      from changes
      $sql$,
      v_snapshot_keys,
      v_live_keys,
      v_table.excluded_columns,
      v_table.table_name,
      v_table.scope_column,
      v_key_match,
      private.primary_key_expression(v_table.table_name, 'any_row')
    )
    into v_table_diff
    using p_shop_id, p_data -> v_table.table_name;

    v_differences := v_differences || jsonb_build_object(v_table.table_name, v_table_diff);
  end loop;
  return v_differences;
end;
$$;

comment on function private.snapshot_differences(uuid, jsonb) is
  'Per table of private.backup_tables(): the rows a restore of p_data would insert, update and delete for the shop, '
  'as {insert|update|delete: {count, keys: first 100 primary keys}}. Read-only.';

-- Holds a shop still for a restore, until the transaction ends.
create or replace function private.lock_shop_rows(p_shop_id uuid)
returns void
language plpgsql
volatile
set search_path = ''
as $$
declare
  v_table record;
begin
  -- FOR UPDATE on the shop row blocks every new row referencing the shop
  -- (foreign-key checks take KEY SHARE on it); locking the shop's existing
  -- rows makes concurrent edits wait for the restore. Parents first, the
  -- same order on every path.
  perform 1 from public.shops s where s.id = p_shop_id for update;
  for v_table in select * from private.backup_tables() where table_name <> 'shops' order by restore_order loop
    execute format('select 1 from public.%I t where t.%I = $1 for update', v_table.table_name, v_table.scope_column)
      using p_shop_id;
  end loop;
end;
$$;

comment on function private.lock_shop_rows(uuid) is
  'Locks the shop row and every row of the shop in private.backup_tables() (FOR UPDATE) until the transaction ends, '
  'so no write of the shop can interleave with a restore.';

-- Puts the shop's rows back exactly as in p_data.
--
-- session_replication_role = replica switches off ordinary triggers while
-- this function writes (set back before it returns; an error rolls the SET
-- LOCAL back with everything else), so no trigger can alter a restored row: updated_at keeps its snapshotted value,
-- order numbers are not reassigned, the append-only guard on stock_history
-- lets the restore replace history, items' stock changes write no new
-- history, and the subscription ledger trigger stays quiet (billing columns
-- are not restored anyway). Replica mode also skips foreign-key triggers, so
-- every foreign key touching the shop's rows is re-checked at the end and a
-- dangling reference aborts the whole restore. It is a SET statement, not a
-- function SET clause: on hosted Supabase the postgres role (which owns and
-- runs this through restore_backup_snapshot) may SET session_replication_role
-- thanks to supautils' privileged_role_allowed_configs.
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

    if v_table.table_name = 'shops' then
      -- The shop row is updated in place (its billing columns and every row
      -- referencing it stay), or re-created when it is gone.
      execute format(
        'update public.shops t set (%1$s) = (select %1$s from jsonb_populate_record(null::public.shops, $2 -> 0))
         where t.id = $1 and to_jsonb(t) - %2$L::text[] <> $2 -> 0',
        v_column_list, v_table.excluded_columns)
        using p_shop_id, p_data -> 'shops';
      execute format(
        'insert into public.shops (%1$s) select %1$s from jsonb_populate_record(null::public.shops, $2 -> 0) s
         where s.id = $1 and not exists (select 1 from public.shops t where t.id = $1)',
        v_column_list)
        using p_shop_id, p_data -> 'shops';
    else
      execute format(
        'insert into public.%1$I (%2$s) overriding system value
         select %2$s from jsonb_populate_recordset(null::public.%1$I, coalesce($2, ''[]''::jsonb)) s
         where s.%3$I = $1 and not exists (select 1 from public.%1$I t where %4$s)',
        v_table.table_name, v_column_list, v_table.scope_column, v_pk_match)
        using p_shop_id, p_data -> v_table.table_name;
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
       join pg_catalog.pg_attribute a on a.attrelid = c.conrelid and a.attnum = k.attnum) as not_null,
      (select string_agg(format('p.%I = c.%I', pa.attname, ca.attname), ' and ')
       from unnest(c.conkey, c.confkey) k (child_attnum, parent_attnum)
       join pg_catalog.pg_attribute ca on ca.attrelid = c.conrelid and ca.attnum = k.child_attnum
       join pg_catalog.pg_attribute pa on pa.attrelid = c.confrelid and pa.attnum = k.parent_attnum) as match,
      case
        when child_ns.nspname = 'public' and child.relname = 'shops' then 'c.id = $1'
        when exists (select 1 from pg_catalog.pg_attribute a
                     where a.attrelid = c.conrelid and a.attname = 'shop_id' and not a.attisdropped)
          then 'c.shop_id = $1'
        else 'true'
      end as scope
    from pg_catalog.pg_constraint c
    join pg_catalog.pg_class child on child.oid = c.conrelid
    join pg_catalog.pg_namespace child_ns on child_ns.oid = child.relnamespace
    join pg_catalog.pg_class parent on parent.oid = c.confrelid
    join pg_catalog.pg_namespace parent_ns on parent_ns.oid = parent.relnamespace
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
      raise exception using
        errcode = 'PT409',
        message = 'conflict',
        detail = jsonb_build_object(
          'reason', 'dangling_reference', 'constraint', v_fk.constraint_name,
          'table', v_fk.child_table, 'references', v_fk.parent_table, 'rows', v_orphans)::text,
        hint = format('Restoring would leave %s row(s) of %s pointing at missing %s rows; nothing was restored.',
                      v_orphans, v_fk.child_table, v_fk.parent_table);
    end if;
  end loop;

  execute format('set local session_replication_role = %L', v_replication_role);
  return v_restored;
end;
$$;

comment on function private.apply_shop_snapshot(uuid, jsonb) is
  'Makes the shop''s rows of every table of private.backup_tables() equal to p_data (delete rows not in it, insert the '
  'missing, update the shop row in place; billing columns untouched) with triggers off (session_replication_role = '
  'replica, this function only), then re-checks every foreign key touching the shop: a dangling one raises PT409 '
  'conflict and nothing is kept. Returns {table: rows of the shop after the restore}. Caller must be authorized.';

create or replace function public.restore_backup_snapshot(
  p_snapshot_id uuid,
  p_dry_run boolean default true,
  p_idempotency_key text default null
)
returns jsonb
language plpgsql
volatile
-- security definer: reads and rewrites every row of the snapshot's shop,
-- whatever RLS would show the caller, with triggers off (see
-- private.apply_shop_snapshot); the caller is checked first.
security definer
set search_path = ''
as $$
declare
  v_action constant text := 'restore_backup_snapshot';
  v_dry_run boolean := coalesce(p_dry_run, true);
  v_request_hash text := private.request_hash(
    jsonb_build_object('snapshot_id', p_snapshot_id, 'dry_run', v_dry_run));
  v_snapshot public.recovery_snapshots;
  v_data jsonb;
  v_stored jsonb;
  v_actual_checksum text;
  v_differences jsonb;
  v_restored jsonb;
  v_log_id uuid;
  v_pre_restore public.recovery_snapshots;
  v_response jsonb;
begin
  perform private.assert_platform_operator(v_action);

  select * into v_snapshot from public.recovery_snapshots s where s.id = p_snapshot_id;
  if not found then
    raise exception using
      errcode = 'PT404',
      message = 'not_found',
      detail = jsonb_build_object('snapshot_id', p_snapshot_id)::text,
      hint = 'No such snapshot.';
  end if;

  v_stored := private.idempotency_lookup(v_snapshot.shop_id, p_idempotency_key, v_action, v_request_hash);
  if v_stored is not null then
    return v_stored;
  end if;

  -- A snapshot whose data no longer matches its checksum was altered or
  -- corrupted after it was taken: never restore it.
  -- Decompress the payload once (|| detoasts its argument): every step below
  -- reads it again, and a compressed value would be inflated at each read.
  v_data := v_snapshot.data || '{}'::jsonb;
  v_actual_checksum := private.snapshot_checksum(v_data);
  if v_actual_checksum is distinct from v_snapshot.checksum then
    raise exception using
      errcode = 'PT409',
      message = 'conflict',
      detail = jsonb_build_object(
        'reason', 'checksum_mismatch', 'snapshot_id', v_snapshot.id,
        'expected_checksum', v_snapshot.checksum, 'actual_checksum', v_actual_checksum)::text,
      hint = 'The snapshot''s data does not match its checksum; it was not restored.';
  end if;

  if not v_dry_run then
    -- locked before comparing, so the differences reported are the ones applied
    perform private.lock_shop_rows(v_snapshot.shop_id);
  end if;
  v_differences := private.snapshot_differences(v_snapshot.shop_id, v_data);

  if not v_dry_run then
    insert into public.backup_logs (operation, backup_type, shop_id, status, started_at, snapshot_ids, triggered_by)
    values ('restore', 'manual', v_snapshot.shop_id, 'running', now(), array[v_snapshot.id], auth.uid())
    returning id into v_log_id;

    -- The shop as it is now, so that the restore itself can be undone.
    if exists (select 1 from public.shops s where s.id = v_snapshot.shop_id) then
      v_pre_restore := private.write_snapshot(v_snapshot.shop_id, 'pre_restore', v_log_id);
    end if;

    begin
      v_restored := private.apply_shop_snapshot(v_snapshot.shop_id, v_data);
    exception when unique_violation or check_violation or not_null_violation or foreign_key_violation then
      raise exception using
        errcode = 'PT409',
        message = 'conflict',
        detail = jsonb_build_object('reason', 'constraint_violation', 'sqlstate', sqlstate,
                                    'snapshot_id', v_snapshot.id)::text,
        hint = 'The snapshot conflicts with data outside the shop (' || sqlerrm || '); nothing was restored.';
    end;

    update public.recovery_snapshots s set restored_at = now() where s.id = v_snapshot.id;

    update public.backup_logs l
       set status = 'completed', completed_at = now(), row_counts = v_restored, size_bytes = v_snapshot.size_bytes
     where l.id = v_log_id;
  end if;

  v_response := jsonb_build_object(
    'snapshot_id', v_snapshot.id,
    'shop_id', v_snapshot.shop_id,
    'dry_run', v_dry_run,
    'checksum', v_snapshot.checksum,
    'differences', v_differences,
    'restored', v_restored,
    'pre_restore_snapshot_id', v_pre_restore.id,
    'backup_log_id', v_log_id);

  perform private.idempotency_store(v_snapshot.shop_id, p_idempotency_key, v_action, v_request_hash, v_response);
  return v_response;
end;
$$;

comment on function public.restore_backup_snapshot(uuid, boolean, text) is
  'Verifies the snapshot''s checksum first (mismatch: PT409 conflict, reason checksum_mismatch, nothing changes). '
  'Dry run (default): returns {snapshot_id, shop_id, dry_run, checksum, differences: {table: {insert|update|delete: '
  '{count, keys}}}, restored: null} and changes nothing. Applied: makes the shop''s rows exactly the snapshot''s '
  '(see private.apply_shop_snapshot) under row locks, after saving the current state as a pre_restore snapshot (so a '
  'restore can be undone), sets restored_at, logs a backup_logs row (operation restore) and returns restored: '
  '{table: rows}, pre_restore_snapshot_id, backup_log_id; a new snapshot of the shop then has the same checksum. '
  'Rows that would dangle or collide with another shop''s unique values: PT409 conflict, nothing restored. '
  'Other shops are never touched. Replay-safe '
  'with p_idempotency_key. Trusted callers and platform admins only (PT403 forbidden); unknown snapshot PT404.';

-- ---------------------------------------------------------------------------
-- list_backups, cleanup_expired_snapshots
-- ---------------------------------------------------------------------------

create or replace function public.list_backups(p_shop_id uuid default null, p_limit integer default 20)
returns jsonb
language plpgsql
stable
-- invoker's rights: RLS lets platform admins read the backup tables and
-- service_role bypasses it; the explicit check gives others a clear forbidden.
-- The snapshot payload is never returned.
set search_path = ''
as $$
begin
  perform private.assert_platform_operator('list_backups');

  if p_limit is null or p_limit < 1 or p_limit > 100 then
    raise exception using
      errcode = 'PT400',
      message = 'invalid_request',
      detail = jsonb_build_object('field', 'limit', 'min', 1, 'max', 100)::text,
      hint = 'limit must be between 1 and 100.';
  end if;

  return jsonb_build_object(
    'snapshots', coalesce(
      (select jsonb_agg(to_jsonb(s) - 'data' order by s.created_at desc, s.id desc)
       from (select * from public.recovery_snapshots s
             where p_shop_id is null or s.shop_id = p_shop_id
             order by s.created_at desc, s.id desc
             limit p_limit) s),
      '[]'::jsonb),
    'logs', coalesce(
      (select jsonb_agg(to_jsonb(l) order by l.started_at desc, l.id desc)
       from (select * from public.backup_logs l
             where p_shop_id is null or l.shop_id = p_shop_id
             order by l.started_at desc, l.id desc
             limit p_limit) l),
      '[]'::jsonb)
  );
end;
$$;

comment on function public.list_backups(uuid, integer) is
  'Returns {snapshots: [recovery_snapshots rows without data], logs: [backup_logs rows]}, newest first, at most p_limit '
  '(1..100, else PT400 invalid_request) of each, for one shop or all. Read-only. Trusted callers and platform admins '
  'only (PT403 forbidden).';

create or replace function public.cleanup_expired_snapshots()
returns jsonb
language plpgsql
volatile
-- security definer: deletes from recovery_snapshots, which no client role may
-- write; the caller is checked first.
security definer
set search_path = ''
as $$
declare
  v_deleted integer;
begin
  perform private.assert_platform_operator('cleanup_expired_snapshots');

  delete from public.recovery_snapshots s where s.expires_at <= now();
  get diagnostics v_deleted = row_count;

  return jsonb_build_object('deleted', v_deleted);
end;
$$;

comment on function public.cleanup_expired_snapshots() is
  'Deletes the recovery snapshots whose expires_at has passed and returns {deleted: n}; snapshots not yet expired are '
  'kept. Trusted callers and platform admins only (PT403 forbidden).';

-- ---------------------------------------------------------------------------
-- Grants: platform admins call these as authenticated users, jobs as
-- service_role or the owner; nobody else.
-- ---------------------------------------------------------------------------

revoke execute on function
  private.assert_platform_operator(text),
  private.backup_tables(),
  private.primary_key_columns(text),
  private.restorable_columns(text, text[]),
  private.primary_key_expression(text, text),
  private.primary_key_sql(text),
  private.shop_snapshot_data(uuid),
  private.snapshot_checksum(jsonb),
  private.write_snapshot(uuid, text, uuid),
  private.snapshot_differences(uuid, jsonb),
  private.lock_shop_rows(uuid),
  private.apply_shop_snapshot(uuid, jsonb),
  public.generate_platform_metrics(date),
  public.get_platform_stats(date, date),
  public.create_backup_snapshot(uuid, text, text),
  public.restore_backup_snapshot(uuid, boolean, text),
  public.list_backups(uuid, integer),
  public.cleanup_expired_snapshots()
from public, anon, authenticated, service_role;

-- get_platform_stats and list_backups run with the caller's rights and call it.
grant execute on function private.assert_platform_operator(text) to authenticated, service_role;

grant execute on function
  public.generate_platform_metrics(date),
  public.get_platform_stats(date, date),
  public.create_backup_snapshot(uuid, text, text),
  public.restore_backup_snapshot(uuid, boolean, text),
  public.list_backups(uuid, integer),
  public.cleanup_expired_snapshots()
to authenticated, service_role;
