-- idempotency: mutating functions take an optional idempotency key; the first
-- call's response is stored under (shop, key) and a retry with the same key
-- and the same arguments gets it back instead of acting twice. The same key
-- with other arguments, or for another function, is a conflict. Keys are kept
-- 24 hours (scheduled_jobs).
--
-- The action stored with a key is always the SQL function's own name, never
-- the edge function action that called it: a key names what the database did,
-- and the same function is reachable through the edge functions and directly
-- through PostgREST (/rest/v1/rpc/...), which must share one key space.


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
comment on column public.idempotency_keys.action is
  'The name of the SQL function that stored the response (update_stock, process_order_stock_changes, '
  'restore_order_stock, create_backup_snapshot, restore_backup_snapshot), whichever entry point called it.';

create index idempotency_keys_created_at_idx on public.idempotency_keys (created_at);

-- No client role may read or write the keys: only the security definer
-- functions below and service_role (the retention job).
grant select, insert, update, delete on public.idempotency_keys to service_role;


create function private.request_hash(p_arguments jsonb)
returns text
language sql
immutable
set search_path = ''
as $$
  -- jsonb's text form is canonical (keys sorted, no whitespace variance), so
  -- equal arguments always give the same hash.
  select encode(sha256(convert_to(p_arguments::text, 'UTF8')), 'hex')
$$;

comment on function private.request_hash(jsonb) is
  'sha256 (hex) of the canonical text of a jsonb object of a function''s arguments: the request_hash stored with an idempotency key.';

create function private.idempotency_lookup(
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

  if length(p_key) not between 1 and 255 then
    perform private.raise_api_error(400, 'invalid_request',
      jsonb_build_object('field', 'idempotency_key'),
      'An idempotency key must be 1 to 255 characters long');
  end if;

  -- Concurrent retries with the same key queue here until the first one
  -- commits or rolls back; the next statement then sees its stored row.
  perform pg_advisory_xact_lock(
    hashtextextended(coalesce(p_shop_id::text, 'platform') || '/' || p_key, 0)
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
    perform private.raise_api_error(422, 'idempotency_conflict',
      jsonb_build_object('idempotency_key', p_key),
      'This idempotency key was already used for a different request');
  end if;

  return v_stored.response;
end;
$$;

comment on function private.idempotency_lookup(uuid, text, text, text) is
  'Null when p_key is null or unseen for this shop (null shop = platform-wide). Takes a transaction advisory lock on (shop, key) first, so concurrent retries serialize. Returns the stored response when action and request hash match; raises PT422 idempotency_conflict otherwise. Call before doing any work, then idempotency_store in the same transaction: only a committed success is stored, so a retry of a request that failed runs again.';

create function private.idempotency_store(
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

-- Postgres lets PUBLIC execute every new function: revoked, so that only the
-- grants above remain.
revoke execute on all functions in schema public, private from public;
