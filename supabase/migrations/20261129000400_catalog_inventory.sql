-- catalog_inventory: the shop's items (products and services), their stock,
-- and the append-only stock_history every stock change writes. Stock moves
-- only through public.update_stock here and the order functions of
-- orders_forms, which take item locks in ascending id order (see there).

-- ---------------------------------------------------------------------------
-- items
-- ---------------------------------------------------------------------------

create table public.items (
  id uuid primary key default gen_random_uuid(),
  shop_id uuid not null references public.shops (id) on delete cascade,
  type public.item_type not null default 'product',
  name text not null check (length(btrim(name)) between 1 and 300),
  description text check (length(description) <= 5000),
  sku text check (sku is null or length(btrim(sku)) between 1 and 100),
  category text check (length(category) <= 100),
  price numeric(12, 2) not null default 0 check (price >= 0),
  cost numeric(12, 2) check (cost >= 0),
  track_stock boolean not null default true,
  stock integer check (stock >= 0),
  low_stock_threshold integer check (low_stock_threshold >= 0),
  is_active boolean not null default true,
  image_url text check (length(image_url) <= 2048),
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
    reason in ('restock', 'sale', 'order_cancelled', 'return', 'damage', 'correction', 'manual', 'initial')
  ),
  reference_id uuid,
  note text check (length(note) <= 500),
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
  transaction_id xid8 primary key default pg_current_xact_id(),
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
               where p.transaction_id = pg_current_xact_id())
       or not exists (select 1 from public.shops s where s.id = old.shop_id) then
      return old;
    end if;
  end if;
  perform private.raise_api_error(409, 'conflict',
    jsonb_build_object('table', 'stock_history', 'operation', lower(tg_op)),
    'stock_history is append-only');
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
    perform private.raise_api_error(403, 'forbidden',
      '{}',
      'Only trusted callers may purge stock history');
  end if;
  if p_older_than < interval '30 days' then
    perform private.raise_api_error(400, 'invalid_request',
      jsonb_build_object('field', 'p_older_than'),
      'Stock history is kept at least 30 days');
  end if;
  insert into private.stock_history_purges default values on conflict do nothing;
  delete from public.stock_history where created_at < now() - p_older_than;
  get diagnostics v_deleted = row_count;
  delete from private.stock_history_purges where transaction_id = pg_current_xact_id();
  return v_deleted;
end;
$$;
comment on function private.purge_stock_history(interval) is
  'Retention: deletes stock_history rows older than p_older_than (at least 30 days); returns how many. Trusted callers only (pg_cron).';

-- ---------------------------------------------------------------------------
-- stock never changes without a history row
-- ---------------------------------------------------------------------------

-- Transactions inside a stock function (update_stock, the order functions):
-- a row here exists only while one of them runs, in its own transaction, as
-- private.stock_history_purges does for the purge. Any other change of
-- items.stock, by any role, is refused by the trigger below.
create table private.stock_writers (
  transaction_id xid8 primary key default pg_current_xact_id(),
  started_at timestamptz not null default now()
);

create function private.begin_stock_write()
returns void
language sql
volatile
set search_path = ''
as $$
  insert into private.stock_writers default values on conflict do nothing;
$$;
comment on function private.begin_stock_write() is
  'Marks the current transaction as a stock function''s: items.stock may change until private.end_stock_write(). Called only by the stock functions, which write the stock_history row of each change.';

create function private.end_stock_write()
returns void
language sql
volatile
set search_path = ''
as $$
  delete from private.stock_writers where transaction_id = pg_current_xact_id();
$$;
comment on function private.end_stock_write() is
  'Ends the mark of private.begin_stock_write(): later stock changes in the transaction are refused again.';

create function private.guard_item_stock()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  -- security definer: reads private.stock_writers whatever the caller's role.
  if not new.track_stock then
    -- Untracked: no stock number. Turning tracking off records the count
    -- leaving (private.record_item_stock_change).
    new.stock := null;
  elsif tg_op = 'INSERT' or not old.track_stock then
    -- Opening stock (a new item, or tracking turned on): 0 unless given,
    -- recorded as an 'initial' history row.
    new.stock := coalesce(new.stock, 0);
  elsif new.stock is distinct from old.stock
        and not exists (select 1 from private.stock_writers w
                         where w.transaction_id = pg_current_xact_id()) then
    perform private.raise_api_error(409, 'conflict',
      jsonb_build_object('table', 'items', 'column', 'stock', 'item_id', new.id),
      'Stock changes only through update_stock or the order functions, which record stock_history');
  end if;
  return new;
end;
$$;
comment on function private.guard_item_stock() is
  'Trigger: an untracked item has no stock, tracking starts at the given stock or 0, and a tracked item''s stock changes only inside a stock function (PT409 conflict otherwise, whatever the role, service_role and the database owner included).';

create trigger items_guard_stock before insert or update of track_stock, stock on public.items
  for each row execute function private.guard_item_stock();

create function private.record_item_stock_change()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  -- security definer: writes stock_history, which no client role may insert.
  if new.track_stock and new.stock > 0 and (tg_op = 'INSERT' or not old.track_stock) then
    insert into public.stock_history
      (shop_id, item_id, change, previous_stock, new_stock, reason, created_by, created_at)
    values
      (new.shop_id, new.id, new.stock, 0, new.stock, 'initial', auth.uid(),
       case when tg_op = 'INSERT' then new.created_at else now() end);
  elsif tg_op = 'UPDATE' and old.track_stock and not new.track_stock and old.stock > 0 then
    insert into public.stock_history
      (shop_id, item_id, change, previous_stock, new_stock, reason, note, created_by)
    values
      (new.shop_id, new.id, -old.stock, old.stock, 0, 'correction', 'stock tracking turned off', auth.uid());
  end if;
  return null;
end;
$$;
comment on function private.record_item_stock_change() is
  'Trigger: the opening stock of an item (at creation, dated created_at, or when tracking is turned on) is an ''initial'' history row; turning tracking off records the stock leaving as a ''correction'' row to 0.';

create trigger items_record_stock_change after insert or update of track_stock on public.items
  for each row execute function private.record_item_stock_change();

-- ---------------------------------------------------------------------------
-- RLS policies
-- ---------------------------------------------------------------------------

-- items: members read; admins write (stock only through the functions below).
create policy items_select on public.items for select to authenticated
  using ((select private.is_shop_member(shop_id)));
create policy items_insert on public.items for insert to authenticated
  with check ((select private.has_shop_role(shop_id, 'admin')));
create policy items_update on public.items for update to authenticated
  using ((select private.has_shop_role(shop_id, 'admin')))
  with check ((select private.has_shop_role(shop_id, 'admin')));
create policy items_delete on public.items for delete to authenticated
  using ((select private.has_shop_role(shop_id, 'admin')));

-- stock_history: read-only for members; written by the stock functions only.
create policy stock_history_select on public.stock_history for select to authenticated
  using ((select private.is_shop_member(shop_id)));

-- ---------------------------------------------------------------------------
-- Grants
-- ---------------------------------------------------------------------------

-- service_role: operator-level work (RLS bypassed), but the history is a
-- ledger nobody rewrites.
grant select, insert, update, delete on public.items to service_role;
grant select, insert on public.stock_history to service_role;

grant select, delete on public.items to authenticated;
grant insert (id, shop_id, type, name, description, sku, category, price, cost, track_stock, stock,
              low_stock_threshold, is_active, image_url) on public.items to authenticated;
-- no stock: stock moves only through update_stock / order functions, which log history.
grant update (type, name, description, sku, category, price, cost, track_stock,
              low_stock_threshold, is_active, image_url) on public.items to authenticated;

grant select on public.stock_history to authenticated;

-- ---------------------------------------------------------------------------
-- update_stock, get_low_stock_items
-- ---------------------------------------------------------------------------

create function public.update_stock(
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
    perform private.raise_api_error(400, 'invalid_request',
      '{"field": "item_id"}',
      'item_id is required');
  end if;
  if (p_change is null) = (p_set_to is null) then
    perform private.raise_api_error(400, 'invalid_request',
      '{"field": "change"}',
      'Give exactly one of change and set_to');
  end if;
  if p_change = 0 then
    perform private.raise_api_error(400, 'invalid_request',
      '{"field": "change"}',
      'change must not be 0');
  end if;
  if p_set_to < 0 or p_expected_stock < 0 then
    perform private.raise_api_error(400, 'invalid_request',
      jsonb_build_object('field', case when p_set_to < 0 then 'set_to' else 'expected_stock' end),
      'Stock values cannot be negative');
  end if;
  if p_reason is null or p_reason not in ('restock', 'sale', 'order_cancelled', 'return', 'damage', 'correction', 'manual') then
    perform private.raise_api_error(400, 'invalid_request',
      '{"field": "reason"}',
      'reason must be one of restock, sale, order_cancelled, return, damage, correction, manual');
  end if;
  -- The same limit the inventory function checks: the direct RPC path must not
  -- store more in the append-only history than the edge would.
  if length(p_note) > 500 then
    perform private.raise_api_error(400, 'invalid_request',
      '{"field": "note"}',
      'note must be at most 500 characters');
  end if;

  select i.id, i.shop_id, i.name, i.track_stock
    into v_item
    from public.items i
   where i.id = p_item_id;
  if not found then
    perform private.raise_api_error(404, 'not_found',
      jsonb_build_object('item_id', p_item_id),
      'No item with this id');
  end if;

  perform private.assert_shop_role(v_item.shop_id, 'staff', 'item', p_item_id);

  -- The reference is an order of the item's own shop: history must never
  -- point into another shop. Unknown and foreign ids get the same answer.
  if p_reference_id is not null
     and not exists (select 1 from public.form_submissions o
                      where o.id = p_reference_id and o.shop_id = v_item.shop_id) then
    perform private.raise_api_error(400, 'invalid_request',
      '{"field": "reference_id"}',
      'reference_id must be an order of the item''s shop');
  end if;

  v_request_hash := private.request_hash(jsonb_build_object(
    'item_id', p_item_id, 'change', p_change, 'set_to', p_set_to, 'reason', p_reason,
    'note', p_note, 'reference_id', p_reference_id, 'expected_stock', p_expected_stock));
  v_response := private.idempotency_lookup(v_item.shop_id, p_idempotency_key, 'update_stock', v_request_hash);
  if v_response is not null then
    return v_response;
  end if;

  if not v_item.track_stock then
    perform private.raise_api_error(400, 'invalid_request',
      jsonb_build_object('item_id', p_item_id),
      format('Item %L does not track stock', v_item.name));
  end if;

  -- One row lock, then one conditional update: the stock read here cannot
  -- move until commit, so the compare-and-swap and the set_to arithmetic are
  -- exact, and the update's own guard keeps stock >= 0 whatever happens.
  select i.stock into v_previous_stock
    from public.items i
   where i.id = p_item_id
     for update;

  if p_expected_stock is not null and v_previous_stock <> p_expected_stock then
    perform private.raise_api_error(409, 'stale_stock',
      jsonb_build_object('item_id', p_item_id, 'current_stock', v_previous_stock,
        'expected_stock', p_expected_stock),
      format('Item %L now has %s in stock, not %s; reload and try again',
        v_item.name, v_previous_stock, p_expected_stock));
  end if;

  v_change := coalesce(p_change, p_set_to - v_previous_stock);

  -- Stock is an integer column: a restock past its largest value is refused
  -- here rather than failing the update with an integer-overflow error.
  if v_previous_stock::bigint + v_change > 2147483647 then
    perform private.raise_api_error(400, 'invalid_request',
      '{"field": "change"}',
      format('Item %L has %s in stock; the stock cannot exceed 2147483647', v_item.name, v_previous_stock));
  end if;

  if v_change = 0 then
    -- set_to equal to the current stock: a confirmed count, nothing to record.
    v_response := jsonb_build_object('item_id', p_item_id, 'previous_stock', v_previous_stock,
                                     'new_stock', v_previous_stock, 'history_id', null);
  else
    perform private.begin_stock_write();
    update public.items i
       set stock = i.stock + v_change
     where i.id = p_item_id
       and i.stock + v_change >= 0
    returning i.stock into v_new_stock;

    if not found then
      perform private.raise_api_error(409, 'insufficient_stock',
        jsonb_build_object('item_id', p_item_id, 'available', v_previous_stock,
          'requested', -(v_change::bigint)),
        format('Item %L has %s in stock, %s requested', v_item.name, v_previous_stock, -(v_change::bigint)));
    end if;
    perform private.end_stock_write();

    insert into public.stock_history
      (shop_id, item_id, change, previous_stock, new_stock, reason, reference_id, note, created_by)
    values
      (v_item.shop_id, p_item_id, v_change, v_previous_stock, v_new_stock, p_reason,
       p_reference_id, p_note, auth.uid())
    returning id into v_history_id;

    v_response := jsonb_build_object('item_id', p_item_id, 'previous_stock', v_previous_stock,
                                     'new_stock', v_new_stock, 'history_id', v_history_id);
  end if;

  perform private.idempotency_store(v_item.shop_id, p_idempotency_key, 'update_stock', v_request_hash, v_response);
  return v_response;
end;
$$;

comment on function public.update_stock(uuid, integer, text, text, uuid, text, integer, integer) is
  'Changes one tracked item''s stock by p_change (non-zero) or to p_set_to (>= 0), atomically: stock never goes negative (PT409 insufficient_stock {item_id, available, requested}); with p_expected_stock it is a compare-and-swap (PT409 stale_stock {current_stock} when the stock moved); a change that would take the stock past 2147483647, a note over 500 characters or a p_reference_id that is not an order of the item''s shop is PT400 invalid_request. Writes exactly one stock_history row per change (none when p_set_to equals the stock: history_id null). Staff or above; non-members get PT404 not_found. Replay-safe with p_idempotency_key. Returns {item_id, previous_stock, new_stock, history_id}.';

create function public.get_low_stock_items(
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
    perform private.raise_api_error(400, 'invalid_request',
      '{"field": "threshold"}',
      'threshold cannot be negative');
  end if;

  perform private.assert_shop_role(p_shop_id, 'viewer', 'shop', p_shop_id);

  select coalesce(jsonb_agg(jsonb_build_object(
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

  return jsonb_build_object('items', v_items);
end;
$$;

comment on function public.get_low_stock_items(uuid, integer) is
  'Tracked, active items of a shop whose stock is at or below the threshold: p_threshold when given, else the item''s low_stock_threshold, else the shop''s default_low_stock_threshold. Lowest stock first. Any member; runs with the caller''s rights (RLS applies). Returns {items: [{id, name, sku, stock, threshold}]}.';

grant execute on function
  public.update_stock(uuid, integer, text, text, uuid, text, integer, integer),
  public.get_low_stock_items(uuid, integer)
  to authenticated, service_role;

-- Postgres lets PUBLIC execute every new function: revoked, so that only the
-- grants above remain.
revoke execute on all functions in schema public, private from public;
