-- orders_forms: order forms, payment methods, orders (form_submissions) with
-- their per-shop order numbers, and the functions that deduct and restore an
-- order's stock.
--
-- Locking order, the same on every stock path (update_stock included) so that
-- concurrent calls queue instead of deadlocking:
--   1. the idempotency advisory lock (shop, key), when a key is given;
--   2. the order row (form_submissions), for order-level functions;
--   3. item rows, ascending by id, all taken before the first write.
-- (The failure modes this avoids: opposite lock orders deadlocking, Saleor
-- #17123; a lock that was never really taken, Saleor #19615; two lines of
-- one item each checked against the same stock, Medusa #16502.)

-- ---------------------------------------------------------------------------
-- forms
-- ---------------------------------------------------------------------------

create table public.forms (
  id uuid primary key default gen_random_uuid(),
  shop_id uuid not null references public.shops (id) on delete cascade,
  name text not null check (length(btrim(name)) between 1 and 200),
  slug text not null check (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' and length(slug) <= 80),
  description text check (length(description) <= 2000),
  -- at most 100 fields and 64 KiB of JSON text
  fields jsonb not null default '[]'::jsonb check (
    jsonb_typeof(fields) = 'array' and jsonb_array_length(fields) <= 100 and octet_length(fields::text) <= 65536),
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
  provider text check (length(provider) <= 100),
  account_name text check (length(account_name) <= 200),
  account_number text check (length(account_number) <= 100),
  instructions text check (length(instructions) <= 2000),
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
-- form_submissions (orders)
-- ---------------------------------------------------------------------------

create table public.form_submissions (
  id uuid primary key default gen_random_uuid(),
  shop_id uuid not null references public.shops (id) on delete cascade,
  form_id uuid,
  order_number integer not null check (order_number > 0),
  customer_name text check (length(customer_name) <= 200),
  customer_phone text check (length(customer_phone) <= 50),
  customer_address text check (length(customer_address) <= 1000),
  customer_ref text check (length(customer_ref) <= 255),
  -- at most 500 lines and 64 KiB of JSON text
  line_items jsonb not null default '[]'::jsonb check (
    jsonb_typeof(line_items) = 'array' and jsonb_array_length(line_items) <= 500
    and octet_length(line_items::text) <= 65536),
  subtotal numeric(12, 2) not null default 0 check (subtotal >= 0),
  discount numeric(12, 2) not null default 0 check (discount >= 0),
  shipping_fee numeric(12, 2) not null default 0 check (shipping_fee >= 0),
  total numeric(12, 2) not null default 0 check (total >= 0),
  status public.order_status not null default 'pending',
  payment_status public.payment_status not null default 'unpaid',
  payment_method_id uuid,
  channel public.order_channel not null default 'form',
  conversation_id uuid,
  notes text check (length(notes) <= 2000),
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
-- RLS policies
-- ---------------------------------------------------------------------------

-- forms, payment_methods: members read, admins write.
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

-- Orders: members read, staff create and update, admins delete.
create policy form_submissions_select on public.form_submissions for select to authenticated
  using ((select private.is_shop_member(shop_id)));
create policy form_submissions_insert on public.form_submissions for insert to authenticated
  with check ((select private.has_shop_role(shop_id, 'staff')));
create policy form_submissions_update on public.form_submissions for update to authenticated
  using ((select private.has_shop_role(shop_id, 'staff')))
  with check ((select private.has_shop_role(shop_id, 'staff')));
create policy form_submissions_delete on public.form_submissions for delete to authenticated
  using ((select private.has_shop_role(shop_id, 'admin')));

-- ---------------------------------------------------------------------------
-- Grants
-- ---------------------------------------------------------------------------

grant select, insert, update, delete on public.forms, public.payment_methods, public.form_submissions
  to service_role;

grant select, delete on public.forms to authenticated;
grant insert (id, shop_id, name, slug, description, fields, is_active) on public.forms to authenticated;
grant update (name, slug, description, fields, is_active) on public.forms to authenticated;

grant select, delete on public.payment_methods to authenticated;
grant insert (id, shop_id, type, provider, account_name, account_number, instructions, is_active)
  on public.payment_methods to authenticated;
grant update (type, provider, account_name, account_number, instructions, is_active)
  on public.payment_methods to authenticated;

-- order_number, stock_deducted_at, stock_restored_at are set by triggers/functions only.
grant select, delete on public.form_submissions to authenticated;
grant insert (id, shop_id, form_id, customer_name, customer_phone, customer_address, customer_ref, line_items,
              subtotal, discount, shipping_fee, total, status, payment_status, payment_method_id, channel,
              conversation_id, notes, submitted_at) on public.form_submissions to authenticated;
grant update (form_id, customer_name, customer_phone, customer_address, customer_ref, line_items,
              subtotal, discount, shipping_fee, total, status, payment_status, payment_method_id, channel,
              conversation_id, notes) on public.form_submissions to authenticated;

-- ---------------------------------------------------------------------------
-- Order stock: process_order_stock_changes, restore_order_stock
-- ---------------------------------------------------------------------------

create function private.order_lines(p_line_items jsonb)
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
    case when jsonb_typeof(e.value -> 'quantity') = 'number'
              and (e.value ->> 'quantity') ~ '^[0-9]{1,9}$'
         then (e.value ->> 'quantity')::integer end,
    case when jsonb_typeof(e.value -> 'unit_price') = 'number'
         then (e.value ->> 'unit_price')::numeric end,
    case when jsonb_typeof(e.value -> 'unit_cost') = 'number'
         then (e.value ->> 'unit_cost')::numeric end
  from jsonb_array_elements(
         case when jsonb_typeof(p_line_items) = 'array' then p_line_items else '[]'::jsonb end
       ) with ordinality as e(value, ordinality)
$$;

comment on function private.order_lines(jsonb) is
  'The line items of an order as rows (0-based line_index, item_id, quantity, unit_price, unit_cost); a missing or malformed field is null, never an error.';

create function private.order_demand(p_line_items jsonb)
returns table (item_id uuid, quantity bigint)
language sql
immutable
set search_path = ''
as $$
  -- Lines of the same item are summed before any check, so two lines of 3
  -- against a stock of 5 are one demand of 6, not two passing checks of 3.
  select l.item_id, sum(l.quantity)::bigint
    from private.order_lines(p_line_items) l
   group by l.item_id
$$;

comment on function private.order_demand(jsonb) is
  'Total quantity per item of an order''s line items (lines of one item summed). Callers validate the lines first.';

create function private.begin_order_stock_call(
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
    perform private.raise_api_error(404, 'not_found',
      jsonb_build_object('order_id', p_order_id),
      'No order with this id');
  end if;

  perform private.assert_shop_role(begin_order_stock_call.shop_id, 'staff', 'order', p_order_id);

  begin_order_stock_call.request_hash := private.request_hash(jsonb_build_object('order_id', p_order_id));
  begin_order_stock_call.stored_response := private.idempotency_lookup(
    begin_order_stock_call.shop_id, p_idempotency_key, p_action, begin_order_stock_call.request_hash);
end;
$$;

comment on function private.begin_order_stock_call(uuid, text, text) is
  'The shared start of process_order_stock_changes and restore_order_stock: finds the order''s shop (PT404 not_found when the order does not exist), checks the caller is staff or above there (private.assert_shop_role), hashes the arguments and looks up the idempotency key (taking its advisory lock, step 1 of the locking order). stored_response is the answer to replay, or null when the call must run; the caller then locks the order row itself (step 2). No other lock is taken.';

create function public.process_order_stock_changes(
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
  select * into v_call from private.begin_order_stock_call(p_order_id, 'process_order_stock_changes', p_idempotency_key);
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
    perform private.raise_api_error(404, 'not_found',
      jsonb_build_object('order_id', p_order_id),
      'No order with this id');
  end if;

  if v_order.stock_deducted_at is not null then
    v_response := jsonb_build_object('order_id', p_order_id, 'already_processed', true,
                                     'items', '[]'::jsonb);
    perform private.idempotency_store(v_order.shop_id, p_idempotency_key, 'process_order_stock_changes', v_call.request_hash, v_response);
    return v_response;
  end if;

  if v_order.status in ('cancelled', 'refunded') then
    perform private.raise_api_error(409, 'conflict',
      jsonb_build_object('order_id', p_order_id, 'status', v_order.status),
      format('Order #%s is %s; its stock cannot be deducted', v_order.order_number, v_order.status));
  end if;

  select l.line_index into v_invalid_line
    from private.order_lines(v_order.line_items) l
   where l.item_id is null or l.quantity is null or l.quantity <= 0
   order by l.line_index
   limit 1;
  if found then
    perform private.raise_api_error(400, 'invalid_request',
      jsonb_build_object('order_id', p_order_id, 'line_index', v_invalid_line),
      format('Line %s of order #%s needs an item_id and a positive whole quantity',
        v_invalid_line + 1, v_order.order_number));
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

  select jsonb_agg(d.item_id order by d.item_id)
    into v_missing
    from private.order_demand(v_order.line_items) d
   where not exists (select 1 from public.items i where i.id = d.item_id and i.shop_id = v_order.shop_id);
  if v_missing is not null then
    perform private.raise_api_error(400, 'invalid_request',
      jsonb_build_object('order_id', p_order_id, 'missing_item_ids', v_missing),
      format('Order #%s refers to items that are not in this shop', v_order.order_number));
  end if;

  -- Every shortfall is reported, the first (by item id) in the top-level
  -- fields so the answer has the same shape as update_stock's.
  select jsonb_agg(jsonb_build_object('item_id', i.id, 'name', i.name,
                                      'available', i.stock, 'requested', d.quantity)
                   order by i.id)
    into v_shortfalls
    from private.order_demand(v_order.line_items) d
    join public.items i on i.id = d.item_id and i.shop_id = v_order.shop_id
   where i.track_stock and i.stock < d.quantity;
  if v_shortfalls is not null then
    perform private.raise_api_error(409, 'insufficient_stock',
      (jsonb_build_object('order_id', p_order_id)
        || ((v_shortfalls -> 0) - 'name')
        || jsonb_build_object('shortfalls', v_shortfalls)),
      format('Item %L has %s in stock, %s requested',
        v_shortfalls -> 0 ->> 'name', v_shortfalls -> 0 ->> 'available',
        v_shortfalls -> 0 ->> 'requested'));
  end if;

  select count(*)::integer into v_tracked_count
    from private.order_demand(v_order.line_items) d
    join public.items i on i.id = d.item_id and i.shop_id = v_order.shop_id
   where i.track_stock;

  -- The one statement allowed to move stock here (guarded by items_guard_stock).
  perform private.begin_stock_write();
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
  select coalesce(jsonb_agg(jsonb_build_object(
           'item_id', x.item_id, 'previous_stock', x.previous_stock, 'new_stock', x.new_stock) order by x.item_id),
         '[]'::jsonb)
    into v_items
    from deducted x;
  perform private.end_stock_write();

  -- Cannot fail while the locks above are held; it is here so that an edit
  -- that loses the lock fails loudly instead of half-deducting an order.
  if jsonb_array_length(v_items) <> v_tracked_count then
    perform private.raise_api_error(409, 'insufficient_stock',
      jsonb_build_object('order_id', p_order_id),
      format('Stock of order #%s changed while it was processed; nothing was deducted',
        v_order.order_number));
  end if;

  update public.form_submissions o
     set stock_deducted_at = now()
   where o.id = p_order_id;

  v_response := jsonb_build_object('order_id', p_order_id, 'already_processed', false, 'items', v_items);
  perform private.idempotency_store(v_order.shop_id, p_idempotency_key, 'process_order_stock_changes', v_call.request_hash, v_response);
  return v_response;
end;
$$;

comment on function public.process_order_stock_changes(uuid, text) is
  'Deducts every tracked line item of an order, all or nothing: lines of one item are summed, the items are locked ascending by id before any write (no deadlock between concurrent orders), each deduction is a conditional update, one stock_history row (reason sale, reference_id = order) per item, stock_deducted_at set. Any shortfall raises PT409 insufficient_stock (every short item in detail.shortfalls) and changes nothing. A second call returns already_processed = true and changes nothing. Untracked items (services) are skipped; items not in the order''s shop, malformed lines -> PT400 invalid_request; cancelled/refunded orders -> PT409 conflict. Staff or above. Returns {order_id, already_processed, items: [{item_id, previous_stock, new_stock}]}.';

create function public.restore_order_stock(
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
  select * into v_call from private.begin_order_stock_call(p_order_id, 'restore_order_stock', p_idempotency_key);
  if v_call.stored_response is not null then
    return v_call.stored_response;
  end if;

  select o.id, o.shop_id, o.order_number, o.status::text as status, o.stock_deducted_at, o.stock_restored_at
    into v_order
    from public.form_submissions o
   where o.id = p_order_id
     for update;
  if not found then  -- deleted since the first read
    perform private.raise_api_error(404, 'not_found',
      jsonb_build_object('order_id', p_order_id),
      'No order with this id');
  end if;

  if v_order.stock_restored_at is not null then
    v_response := jsonb_build_object('order_id', p_order_id, 'already_restored', true, 'items', '[]'::jsonb);
    perform private.idempotency_store(v_order.shop_id, p_idempotency_key, 'restore_order_stock', v_call.request_hash, v_response);
    return v_response;
  end if;

  if v_order.status not in ('cancelled', 'refunded') then
    perform private.raise_api_error(409, 'conflict',
      jsonb_build_object('order_id', p_order_id, 'status', v_order.status),
      format('Order #%s is %s; only cancelled or refunded orders get their stock back',
        v_order.order_number, v_order.status));
  end if;

  if v_order.stock_deducted_at is null then
    perform private.raise_api_error(409, 'conflict',
      jsonb_build_object('order_id', p_order_id, 'stock_deducted', false),
      format('Order #%s never had its stock deducted; there is nothing to put back',
        v_order.order_number));
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
  select i.name, i.stock, -sum(h.change) as quantity
    into v_overflow
    from public.stock_history h
    join public.items i on i.id = h.item_id
   where h.reference_id = p_order_id and h.reason = 'sale' and h.shop_id = v_order.shop_id and i.track_stock
   group by i.id, i.name, i.stock
  having i.stock::bigint - sum(h.change) > 2147483647
   order by i.id
   limit 1;
  if found then
    perform private.raise_api_error(409, 'conflict',
      jsonb_build_object('order_id', p_order_id, 'reason', 'stock_out_of_range'),
      format('Item %L has %s in stock; putting back %s would exceed 2147483647',
        v_overflow.name, v_overflow.stock, v_overflow.quantity));
  end if;

  -- The one statement allowed to move stock here (guarded by items_guard_stock).
  perform private.begin_stock_write();
  with taken as (
    select h.item_id, (-sum(h.change))::integer as quantity
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
  select coalesce(jsonb_agg(jsonb_build_object(
           'item_id', r.item_id, 'previous_stock', r.previous_stock, 'new_stock', r.new_stock) order by r.item_id),
         '[]'::jsonb)
    into v_items
    from restored r;
  perform private.end_stock_write();

  update public.form_submissions o
     set stock_restored_at = now()
   where o.id = p_order_id;

  v_response := jsonb_build_object('order_id', p_order_id, 'already_restored', false, 'items', v_items);
  perform private.idempotency_store(v_order.shop_id, p_idempotency_key, 'restore_order_stock', v_call.request_hash, v_response);
  return v_response;
end;
$$;

comment on function public.restore_order_stock(uuid, text) is
  'Puts back, once, the stock that process_order_stock_changes took for a cancelled or refunded order (the quantities of its sale movements, not its current lines), with one stock_history row (reason order_cancelled) per item; items locked ascending by id. A second call returns already_restored = true and changes nothing. Orders in another status, or never deducted, or an item whose stock would pass 2147483647 -> PT409 conflict (nothing changed). Staff or above. Returns {order_id, already_restored, items: [{item_id, previous_stock, new_stock}]}.';

grant execute on function
  public.process_order_stock_changes(uuid, text),
  public.restore_order_stock(uuid, text)
  to authenticated, service_role;

-- Postgres lets PUBLIC execute every new function: revoked, so that only the
-- grants above remain.
revoke execute on all functions in schema public, private from public;
