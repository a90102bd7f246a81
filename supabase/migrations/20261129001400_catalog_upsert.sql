-- catalog_upsert: staff keep the catalog, and a catalog can be written as
-- PostgREST writes an upsert.
--
-- supabase.from('items').upsert(rows, { onConflict: 'shop_id,sku' }) becomes
--   insert into items (<payload columns>) ... on conflict (shop_id, sku)
--   do update set <every payload column> = excluded.<column>
-- so the statement needs the update right on every column a client may
-- insert, shop_id and stock included, even though on a (shop_id, sku)
-- conflict both already hold the new value. The rights are granted; triggers
-- keep what must not change:
--   - an item never moves to another shop and never changes its id
--     (private.guard_item_key below, PT409 conflict naming the column);
--   - stock changes only inside the stock functions (private.guard_item_stock,
--     catalog_inventory), so an upsert may repeat an item's current stock
--     but not change it; a new item's opening stock is still its 'initial'
--     history row.
--
-- items_shop_id_sku_key (unique (shop_id, sku)) is the conflict target. sku
-- stays optional (services often have none); nulls are distinct in a unique
-- constraint, so a row without a sku never matches and is always inserted.
--
-- Staff now create and edit items (the catalog is day-to-day work); deleting
-- an item stays with admins and owners.

create function private.guard_item_key()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if new.shop_id is distinct from old.shop_id then
    perform private.raise_api_error(409, 'conflict',
      jsonb_build_object('table', 'items', 'column', 'shop_id', 'item_id', old.id),
      'An item never moves to another shop; create it in the other shop instead');
  end if;
  if new.id is distinct from old.id then
    perform private.raise_api_error(409, 'conflict',
      jsonb_build_object('table', 'items', 'column', 'id', 'item_id', old.id),
      'An item''s id never changes');
  end if;
  return new;
end;
$$;
comment on function private.guard_item_key() is
  'Trigger: an item keeps its id and its shop, whatever the role (PT409 conflict with details {table, column, item_id}); an update or upsert may only repeat them, as PostgREST''s on-conflict update does.';

create trigger items_guard_key before update of id, shop_id on public.items
  for each row execute function private.guard_item_key();

alter policy items_insert on public.items
  with check ((select private.has_shop_role(shop_id, 'staff')));
alter policy items_update on public.items
  using ((select private.has_shop_role(shop_id, 'staff')))
  with check ((select private.has_shop_role(shop_id, 'staff')));

-- Every column a client may insert may also be named in an upsert's update;
-- id, shop_id and stock are held by the triggers above.
grant update (id, shop_id, stock) on public.items to authenticated;

comment on table public.items is
  'Products and services. Staff and above create and edit them (an upsert on (shop_id, sku) included); an item never changes shop; stock is never negative and is changed only through update_stock / order functions, which log stock_history.';

-- Postgres lets PUBLIC execute every new function: revoked, as everywhere.
revoke execute on all functions in schema public, private from public;
