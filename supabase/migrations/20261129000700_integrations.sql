-- integrations: sync bookkeeping and connected social accounts, whose tokens
-- are encrypted at rest with a key no API role can read.

-- ---------------------------------------------------------------------------
-- sync_status
-- ---------------------------------------------------------------------------

create table public.sync_status (
  id uuid primary key default gen_random_uuid(),
  shop_id uuid not null references public.shops (id) on delete cascade,
  resource text not null check (length(resource) between 1 and 100),
  target text not null default 'default' check (length(target) between 1 and 255),
  last_synced_at timestamptz,
  cursor text check (length(cursor) <= 2048),
  status public.sync_state not null default 'idle',
  error_message text check (length(error_message) <= 2000),
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
  account_id text not null check (length(account_id) between 1 and 255),
  account_name text check (length(account_name) <= 200),
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
    perform private.raise_api_error(403, 'forbidden',
      '{}',
      'Only the service role may store integration tokens');
  end if;
  if private.social_token_key() is null then
    perform private.raise_api_error(500, 'internal',
      '{}',
      'social_token_key is missing from the key store');
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
    perform private.raise_api_error(404, 'not_found',
      jsonb_build_object('integration_id', p_integration_id),
      'No such integration');
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
    perform private.raise_api_error(403, 'forbidden',
      '{}',
      'Only the service role may read integration tokens');
  end if;
  select jsonb_build_object(
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
    perform private.raise_api_error(404, 'not_found',
      jsonb_build_object('integration_id', p_integration_id),
      'No such integration');
  end if;
  return v_result;
end;
$$;
comment on function public.get_social_integration_tokens(uuid) is
  'Decrypted tokens of one integration: {integration_id, shop_id, platform, account_id, access_token, refresh_token, token_expires_at}. service_role only.';

-- ---------------------------------------------------------------------------
-- RLS policies
-- ---------------------------------------------------------------------------

-- sync_status: members read, staff create and update, admins delete.
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

create policy sync_status_select on public.sync_status for select to authenticated
  using ((select private.is_shop_member(shop_id)));
create policy sync_status_insert on public.sync_status for insert to authenticated
  with check ((select private.has_shop_role(shop_id, 'staff')));
create policy sync_status_update on public.sync_status for update to authenticated
  using ((select private.has_shop_role(shop_id, 'staff')))
  with check ((select private.has_shop_role(shop_id, 'staff')));
create policy sync_status_delete on public.sync_status for delete to authenticated
  using ((select private.has_shop_role(shop_id, 'admin')));

-- ---------------------------------------------------------------------------
-- Grants
-- ---------------------------------------------------------------------------

grant select, insert, update, delete on public.sync_status, public.social_integrations to service_role;

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

-- The token functions: service_role only (functions in public default to it).

-- Postgres lets PUBLIC execute every new function: revoked, so that only the
-- grants above remain.
revoke execute on all functions in schema public, private from public;
