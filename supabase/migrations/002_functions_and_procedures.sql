-- 002_functions_and_procedures.sql
--
-- The functions behind the inventory and analytics edge functions (the RPC
-- contract of docs/ARCHITECTURE.md), plus the private helpers they share:
--   * idempotency: private.idempotency_lookup / private.idempotency_store
--     (also used by the admin functions of a later migration);
--   * authorization: private.assert_shop_role (not a member -> not_found,
--     role too low -> forbidden);
--   * inventory: update_stock, process_order_stock_changes,
--     restore_order_stock, get_low_stock_items;
--   * analytics: generate_daily_sales_metrics, generate_product_analytics,
--     get_sales_metrics, get_shop_stats.
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
                                               'requested', -v_change)::text,
        hint = pg_catalog.format('Item %L has %s in stock, %s requested', v_item.name, v_previous_stock, -v_change);
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
  'Changes one tracked item''s stock by p_change (non-zero) or to p_set_to (>= 0), atomically: stock never goes negative (PT409 insufficient_stock {item_id, available, requested}); with p_expected_stock it is a compare-and-swap (PT409 stale_stock {current_stock} when the stock moved). Writes exactly one stock_history row per change (none when p_set_to equals the stock: history_id null). Staff or above; non-members get PT404 not_found. Replay-safe with p_idempotency_key. Returns {item_id, previous_stock, new_stock, history_id}.';


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


create or replace function public.process_order_stock_changes(
  p_order_id uuid,
  p_idempotency_key text default null
)
returns jsonb
language plpgsql
volatile
-- security definer: staff may deduct stock but not update items directly,
-- and stock_history is written only by these functions. The caller is
-- checked by private.assert_shop_role before the order is used.
security definer
set search_path = ''
as $$
declare
  v_order record;
  v_request_hash text;
  v_response jsonb;
  v_invalid_line integer;
  v_missing jsonb;
  v_shortfalls jsonb;
  v_tracked_count integer;
  v_items jsonb;
begin
  select o.shop_id into v_order
    from public.form_submissions o
   where o.id = p_order_id;
  if not found then
    raise exception using errcode = 'PT404', message = 'not_found',
      detail = pg_catalog.jsonb_build_object('order_id', p_order_id)::text, hint = 'No order with this id';
  end if;

  perform private.assert_shop_role(v_order.shop_id, 'staff', 'order', p_order_id);

  v_request_hash := private.request_hash(pg_catalog.jsonb_build_object('order_id', p_order_id));
  v_response := private.idempotency_lookup(v_order.shop_id, p_idempotency_key, 'process_order', v_request_hash);
  if v_response is not null then
    return v_response;
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
    perform private.idempotency_store(v_order.shop_id, p_idempotency_key, 'process_order', v_request_hash, v_response);
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
  perform private.idempotency_store(v_order.shop_id, p_idempotency_key, 'process_order', v_request_hash, v_response);
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
  v_order record;
  v_request_hash text;
  v_response jsonb;
  v_items jsonb;
begin
  select o.shop_id into v_order
    from public.form_submissions o
   where o.id = p_order_id;
  if not found then
    raise exception using errcode = 'PT404', message = 'not_found',
      detail = pg_catalog.jsonb_build_object('order_id', p_order_id)::text, hint = 'No order with this id';
  end if;

  perform private.assert_shop_role(v_order.shop_id, 'staff', 'order', p_order_id);

  v_request_hash := private.request_hash(pg_catalog.jsonb_build_object('order_id', p_order_id));
  v_response := private.idempotency_lookup(v_order.shop_id, p_idempotency_key, 'restore_order', v_request_hash);
  if v_response is not null then
    return v_response;
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
    perform private.idempotency_store(v_order.shop_id, p_idempotency_key, 'restore_order', v_request_hash, v_response);
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
  perform private.idempotency_store(v_order.shop_id, p_idempotency_key, 'restore_order', v_request_hash, v_response);
  return v_response;
end;
$$;

comment on function public.restore_order_stock(uuid, text) is
  'Puts back, once, the stock that process_order_stock_changes took for a cancelled or refunded order (the quantities of its sale movements, not its current lines), with one stock_history row (reason order_cancelled) per item; items locked ascending by id. A second call returns already_restored = true and changes nothing. Orders in another status, or never deducted -> PT409 conflict. Staff or above. Returns {order_id, already_restored, items: [{item_id, previous_stock, new_stock}]}.';


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
  if p_start is null or p_end is null or p_start > p_end or p_end - p_start + 1 > 366 then
    raise exception using errcode = 'PT400', message = 'invalid_request',
      detail = pg_catalog.jsonb_build_object('start', p_start, 'end', p_end, 'max_days', 366)::text,
      hint = 'Give a start and end date, start not after end, at most 366 days';
  end if;

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
  if p_start is null or p_end is null or p_start > p_end or p_end - p_start + 1 > 366 then
    raise exception using errcode = 'PT400', message = 'invalid_request',
      detail = pg_catalog.jsonb_build_object('start', p_start, 'end', p_end, 'max_days', 366)::text,
      hint = 'Give a start and end date, start not after end, at most 366 days';
  end if;

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
  private.local_day_bounds(date, text),
  private.compute_daily_sales_metrics(uuid, date)
from public, anon, authenticated;

-- The invoker-rights readers below call these as the caller.
grant execute on function
  private.assert_shop_role(uuid, public.team_role, text, uuid),
  private.local_day_bounds(date, text)
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
