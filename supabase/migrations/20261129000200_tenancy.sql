-- tenancy: who may act on which shop. profiles (one per auth user), shops (the
-- tenants), team_members (a role per shop), the RLS helpers every policy
-- calls, and the caller checks of the SQL functions (private.assert_shop_role,
-- private.assert_platform_operator).

-- ---------------------------------------------------------------------------
-- profiles
-- ---------------------------------------------------------------------------

create table public.profiles (
  id uuid primary key references auth.users (id) on delete cascade,
  email text,
  full_name text check (length(full_name) <= 200),
  avatar_url text check (length(avatar_url) <= 2048),
  is_platform_admin boolean not null default false,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
alter table public.profiles enable row level security;
comment on table public.profiles is
  'One row per auth.users row, created by trigger. is_platform_admin is never writable by its user.';

create trigger profiles_set_updated_at before update on public.profiles
  for each row execute function private.set_updated_at();

-- ---------------------------------------------------------------------------
-- shops
-- ---------------------------------------------------------------------------

create table public.shops (
  id uuid primary key default gen_random_uuid(),
  owner_id uuid not null default auth.uid() references public.profiles (id) on delete restrict,
  name text not null check (length(btrim(name)) between 1 and 200),
  slug text not null unique check (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' and length(slug) <= 80),
  currency char(3) not null default 'USD' check (currency ~ '^[A-Z]{3}$'),
  timezone text not null default 'UTC' check (length(timezone) <= 64),
  default_low_stock_threshold integer not null default 5 check (default_low_stock_threshold >= 0),
  subscription_plan public.subscription_plan not null default 'free',
  subscription_status public.subscription_status not null default 'active',
  subscription_amount numeric(12, 2) not null default 0 check (subscription_amount >= 0),
  billing_interval public.billing_interval not null default 'month',
  subscription_started_at timestamptz,
  subscription_canceled_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
alter table public.shops enable row level security;
comment on table public.shops is
  'A tenant. Subscription columns are written by billing (service_role) only; every change is mirrored into subscription_events.';

create index shops_owner_id_idx on public.shops (owner_id);
create index shops_subscription_idx on public.shops (subscription_status, subscription_plan);
create index shops_created_at_idx on public.shops (created_at);

create trigger shops_set_updated_at before update on public.shops
  for each row execute function private.set_updated_at();

-- A check constraint cannot read pg_timezone_names, so a trigger validates it.
create function private.validate_shop_timezone()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if not exists (select 1 from pg_timezone_names where name = new.timezone) then
    perform private.raise_api_error(400, 'invalid_request',
      jsonb_build_object('field', 'timezone', 'value', new.timezone),
      'timezone must be an IANA time zone name such as ''Asia/Dhaka''');
  end if;
  return new;
end;
$$;
comment on function private.validate_shop_timezone() is
  'Trigger: a shop''s timezone is a name Postgres knows, so day boundaries computed with it are valid.';

create trigger shops_validate_timezone before insert or update of timezone on public.shops
  for each row execute function private.validate_shop_timezone();

-- ---------------------------------------------------------------------------
-- team_members
-- ---------------------------------------------------------------------------

create table public.team_members (
  id uuid primary key default gen_random_uuid(),
  shop_id uuid not null references public.shops (id) on delete cascade,
  user_id uuid not null references public.profiles (id) on delete cascade,
  role public.team_role not null default 'staff',
  invited_by uuid default auth.uid() references public.profiles (id) on delete set null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (shop_id, user_id)
);
alter table public.team_members enable row level security;
comment on table public.team_members is
  'Who may act on a shop and with which role. The shop owner''s own row is created by trigger and cannot be demoted or removed.';

create index team_members_user_id_idx on public.team_members (user_id);
create index team_members_invited_by_idx on public.team_members (invited_by);

create trigger team_members_set_updated_at before update on public.team_members
  for each row execute function private.set_updated_at();

-- ---------------------------------------------------------------------------
-- RLS helpers. security definer: they read team_members / profiles, whose own
-- policies call these helpers; running as the owner avoids that recursion and
-- lets one indexed lookup answer for the whole statement.
-- ---------------------------------------------------------------------------

create function private.is_shop_member(p_shop_id uuid)
returns boolean
language sql
stable
security definer
set search_path = ''
as $$
  select exists (
    select 1 from public.team_members tm
    where tm.shop_id = p_shop_id and tm.user_id = (select auth.uid())
  );
$$;
comment on function private.is_shop_member(uuid) is
  'True when the JWT user has any role in the shop. Never reads user_metadata.';

create function private.has_shop_role(p_shop_id uuid, p_min_role public.team_role)
returns boolean
language sql
stable
security definer
set search_path = ''
as $$
  select exists (
    select 1 from public.team_members tm
    where tm.shop_id = p_shop_id and tm.user_id = (select auth.uid()) and tm.role >= p_min_role
  );
$$;
comment on function private.has_shop_role(uuid, public.team_role) is
  'True when the JWT user''s role in the shop is at least p_min_role (viewer < staff < admin < owner).';

create function private.is_platform_admin()
returns boolean
language sql
stable
security definer
set search_path = ''
as $$
  select coalesce(
    (select p.is_platform_admin from public.profiles p where p.id = (select auth.uid())),
    false
  );
$$;
comment on function private.is_platform_admin() is
  'True when the JWT user''s profile has is_platform_admin, which only the database owner or service_role can set.';

create function private.shares_shop_with(p_user_id uuid)
returns boolean
language sql
stable
security definer
set search_path = ''
as $$
  select exists (
    select 1 from public.team_members mine
    join public.team_members theirs on theirs.shop_id = mine.shop_id
    where mine.user_id = (select auth.uid()) and theirs.user_id = p_user_id
  );
$$;
comment on function private.shares_shop_with(uuid) is
  'True when the JWT user and p_user_id are members of at least one common shop (teammates see each other''s profiles).';

-- ---------------------------------------------------------------------------
-- Triggers that create rows for the user
-- ---------------------------------------------------------------------------

create function private.handle_new_user()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  -- security definer: runs as part of auth's insert, which cannot write public.profiles.
  -- full_name / avatar_url come from user metadata for display only, never for authorization.
  insert into public.profiles (id, email, full_name, avatar_url)
  values (new.id, new.email,
          new.raw_user_meta_data ->> 'full_name', new.raw_user_meta_data ->> 'avatar_url')
  on conflict (id) do nothing;
  return null;
end;
$$;
comment on function private.handle_new_user() is
  'Trigger on auth.users: every user gets a profile; is_platform_admin always starts false.';

create trigger on_auth_user_created after insert on auth.users
  for each row execute function private.handle_new_user();

create function private.sync_profile_email()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  -- security definer: auth's update cannot write public.profiles.
  update public.profiles p set email = new.email where p.id = new.id;
  return null;
end;
$$;
comment on function private.sync_profile_email() is
  'Trigger on auth.users: profiles.email follows the user''s email.';

create trigger on_auth_user_email_changed after update of email on auth.users
  for each row when (old.email is distinct from new.email)
  execute function private.sync_profile_email();

create function private.handle_new_shop()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  -- security definer: the creator is not a member yet, so team_members policies would refuse.
  insert into public.team_members (shop_id, user_id, role, invited_by)
  values (new.id, new.owner_id, 'owner', null)
  on conflict (shop_id, user_id) do update set role = 'owner';
  return null;
end;
$$;
comment on function private.handle_new_shop() is
  'Trigger: a new shop''s owner becomes its member with role owner.';

create trigger shops_add_owner_member after insert on public.shops
  for each row execute function private.handle_new_shop();

create function private.protect_shop_owner_membership()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  -- security definer: must see the shop row whatever the caller may read.
  -- While the shop itself is being deleted its row is gone and this allows the cascade.
  if exists (select 1 from public.shops s where s.id = old.shop_id and s.owner_id = old.user_id)
     and (tg_op = 'DELETE' or new.role <> 'owner' or new.user_id <> old.user_id or new.shop_id <> old.shop_id) then
    perform private.raise_api_error(409, 'conflict',
      jsonb_build_object('shop_id', old.shop_id, 'user_id', old.user_id),
      'The shop owner''s membership cannot be removed or demoted');
  end if;
  return case when tg_op = 'DELETE' then old else new end;
end;
$$;
comment on function private.protect_shop_owner_membership() is
  'Trigger: a shop always keeps its owner as an owner member.';

create trigger team_members_protect_owner before update or delete on public.team_members
  for each row execute function private.protect_shop_owner_membership();

-- ---------------------------------------------------------------------------
-- shop_invitations: membership by invitation the invitee accepts as themselves
-- ---------------------------------------------------------------------------

-- An admin creates an invitation (a role and an unguessable token, valid 7
-- days by default) and passes the token on; the invitee, signed in, accepts it
-- and becomes a member as themselves. Nobody can add another user to a shop,
-- so no user id is ever probed and no profile is exposed before the invitee
-- agrees. Tokens are single-use.
create table public.shop_invitations (
  id uuid primary key default gen_random_uuid(),
  shop_id uuid not null references public.shops (id) on delete cascade,
  role public.team_role not null default 'staff' check (role < 'owner'),
  -- two v4 uuids: 244 random bits from the server's strong random source
  token text not null unique
    default replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''),
  invited_by uuid default auth.uid() references public.profiles (id) on delete set null,
  expires_at timestamptz not null default now() + interval '7 days',
  created_at timestamptz not null default now()
);
alter table public.shop_invitations enable row level security;
comment on table public.shop_invitations is
  'Pending invitations to a shop: role, single-use token, expiry. Written only by create_invitation, accept_invitation and delete_invitation.';

create index shop_invitations_shop_id_idx on public.shop_invitations (shop_id);
create index shop_invitations_invited_by_idx on public.shop_invitations (invited_by);
create index shop_invitations_expires_at_idx on public.shop_invitations (expires_at);

create function public.create_invitation(
  p_shop_id uuid,
  p_role public.team_role default 'staff',
  p_valid_for interval default interval '7 days'
)
returns jsonb
language plpgsql
volatile
-- security definer: clients have no insert right on shop_invitations; the
-- caller is checked by private.assert_shop_role first.
security definer
set search_path = ''
as $$
declare
  v_invitation public.shop_invitations;
begin
  perform private.assert_shop_role(p_shop_id, 'admin', 'shop', p_shop_id);
  if p_role is null or p_role = 'owner'
     or (p_role = 'admin' and not (private.is_trusted_caller() or private.has_shop_role(p_shop_id, 'owner'))) then
    perform private.raise_api_error(400, 'invalid_request',
      '{"field": "role"}',
      'role must be viewer, staff or (owners only) admin');
  end if;
  if p_valid_for is null or p_valid_for < interval '5 minutes' or p_valid_for > interval '30 days' then
    perform private.raise_api_error(400, 'invalid_request',
      '{"field": "valid_for"}',
      'An invitation is valid between 5 minutes and 30 days');
  end if;

  insert into public.shop_invitations (shop_id, role, invited_by, expires_at)
  values (p_shop_id, p_role, auth.uid(), now() + p_valid_for)
  returning * into v_invitation;

  return jsonb_build_object('id', v_invitation.id, 'shop_id', v_invitation.shop_id, 'role', v_invitation.role,
                            'token', v_invitation.token, 'expires_at', v_invitation.expires_at);
end;
$$;
comment on function public.create_invitation(uuid, public.team_role, interval) is
  'Admins of the shop invite with role viewer or staff, owners also admin (owner never). Valid p_valid_for (5 minutes to 30 days, default 7 days). Non-members get PT404 not_found, members below admin PT403 forbidden, a bad role or validity PT400 invalid_request. Returns {id, shop_id, role, token, expires_at}; the token is what the invitee needs.';

create function public.lookup_invitation(p_token text)
returns jsonb
language plpgsql
stable
-- security definer: the invitee is not a member yet, so RLS would hide both
-- the invitation and the shop's name.
security definer
set search_path = ''
as $$
declare
  v_found record;
begin
  if auth.uid() is null then
    perform private.raise_api_error(401, 'unauthorized', '{}', 'Sign in to see an invitation');
  end if;
  select i.shop_id, s.name as shop_name, i.role, i.expires_at
    into v_found
    from public.shop_invitations i
    join public.shops s on s.id = i.shop_id
   where i.token = p_token and i.expires_at > now();
  if not found then
    perform private.raise_api_error(404, 'not_found', '{}', 'No valid invitation with this token');
  end if;
  return jsonb_build_object('shop_id', v_found.shop_id, 'shop_name', v_found.shop_name, 'role', v_found.role,
                            'expires_at', v_found.expires_at,
                            'already_member', private.is_shop_member(v_found.shop_id));
end;
$$;
comment on function public.lookup_invitation(text) is
  'For the signed-in invitee holding a token: {shop_id, shop_name, role, expires_at, already_member}. Unknown and expired tokens alike PT404 not_found; anon PT401 unauthorized.';

create function public.accept_invitation(p_token text)
returns jsonb
language plpgsql
volatile
-- security definer: the invitee may not insert team_members rows; this is
-- the one path that adds a member, and only the caller (auth.uid()).
security definer
set search_path = ''
as $$
declare
  v_invitation public.shop_invitations;
  v_role public.team_role;
begin
  if auth.uid() is null then
    perform private.raise_api_error(401, 'unauthorized', '{}', 'Sign in to accept an invitation');
  end if;
  -- Deleted as it is read: a token is used once, even by concurrent accepts.
  delete from public.shop_invitations i
   where i.token = p_token and i.expires_at > now()
  returning * into v_invitation;
  if v_invitation.id is null then
    perform private.raise_api_error(404, 'not_found', '{}', 'No valid invitation with this token');
  end if;

  -- An existing member keeps their role (an invitation never demotes).
  insert into public.team_members (shop_id, user_id, role, invited_by)
  values (v_invitation.shop_id, auth.uid(), v_invitation.role, v_invitation.invited_by)
  on conflict (shop_id, user_id) do nothing;
  select tm.role into v_role from public.team_members tm
   where tm.shop_id = v_invitation.shop_id and tm.user_id = auth.uid();

  return jsonb_build_object('shop_id', v_invitation.shop_id, 'role', v_role);
end;
$$;
comment on function public.accept_invitation(text) is
  'The signed-in caller (never anyone else) joins the invitation''s shop with its role and the token is used up. Already a member: the role is kept. Unknown, used and expired tokens alike PT404 not_found; anon PT401 unauthorized. Returns {shop_id, role}.';

create function public.delete_invitation(p_invitation_id uuid)
returns void
language plpgsql
volatile
-- security definer: clients have no delete right on shop_invitations; the
-- caller is checked against the invitation's shop.
security definer
set search_path = ''
as $$
declare
  v_shop_id uuid;
begin
  select i.shop_id into v_shop_id from public.shop_invitations i where i.id = p_invitation_id;
  if v_shop_id is null then
    perform private.raise_api_error(404, 'not_found',
      jsonb_build_object('invitation_id', p_invitation_id), 'No invitation with this id');
  end if;
  perform private.assert_shop_role(v_shop_id, 'admin', 'invitation', p_invitation_id);
  delete from public.shop_invitations i where i.id = p_invitation_id;
end;
$$;
comment on function public.delete_invitation(uuid) is
  'Withdraws a pending invitation. Admins of its shop; others get PT404 not_found (PT403 forbidden for members below admin).';

-- ---------------------------------------------------------------------------
-- RLS policies
-- ---------------------------------------------------------------------------

-- profiles: yourself, people you share a shop with, and platform admins.
create policy profiles_select on public.profiles for select to authenticated
  using (
    id = (select auth.uid())
    or (select private.is_platform_admin())
    or (select private.shares_shop_with(id))
  );
create policy profiles_update on public.profiles for update to authenticated
  using (id = (select auth.uid()))
  with check (id = (select auth.uid()));

-- shops
create policy shops_select on public.shops for select to authenticated
  using (
    owner_id = (select auth.uid())
    or (select private.is_shop_member(id))
    or (select private.is_platform_admin())
  );
create policy shops_insert on public.shops for insert to authenticated
  with check (owner_id = (select auth.uid()));
create policy shops_update on public.shops for update to authenticated
  using ((select private.has_shop_role(id, 'admin')))
  with check ((select private.has_shop_role(id, 'admin')));
create policy shops_delete on public.shops for delete to authenticated
  using ((select private.has_shop_role(id, 'owner')));

-- team_members: admins manage non-owner members; owners manage everyone.
create policy team_members_select on public.team_members for select to authenticated
  using ((select private.is_shop_member(shop_id)) or (select private.is_platform_admin()));
-- No insert policy (and no insert grant): a membership is created only by the
-- shop trigger (its owner) and by accept_invitation, as the invitee.
create policy team_members_update on public.team_members for update to authenticated
  using (
    (select private.has_shop_role(shop_id, 'owner'))
    or (role < 'owner' and (select private.has_shop_role(shop_id, 'admin')))
  )
  with check (
    (select private.has_shop_role(shop_id, 'owner'))
    or (role < 'owner' and (select private.has_shop_role(shop_id, 'admin')))
  );
create policy team_members_delete on public.team_members for delete to authenticated
  using (
    (select private.has_shop_role(shop_id, 'owner'))
    or (role < 'owner' and (select private.has_shop_role(shop_id, 'admin')))
  );

-- shop_invitations: admins of the shop see its pending invitations (to pass
-- a token on again); writes only through the functions above.
create policy shop_invitations_select on public.shop_invitations for select to authenticated
  using ((select private.has_shop_role(shop_id, 'admin')));

-- ---------------------------------------------------------------------------
-- Grants. Inserts may carry the row's id: a client that retries a create with
-- the same id gets a conflict instead of a duplicate.
-- ---------------------------------------------------------------------------

-- service_role: operator-level work (RLS bypassed).
grant select, insert, update, delete on public.profiles, public.shops, public.team_members to service_role;

-- Only what a UI shows of a teammate (name and avatar); emails stay out of
-- reach of other users (a user's own is in their JWT and auth.getUser()).
grant select (id, full_name, avatar_url) on public.profiles to authenticated;
grant update (full_name, avatar_url) on public.profiles to authenticated;

grant select, delete on public.shops to authenticated;
grant insert (id, owner_id, name, slug, currency, timezone, default_low_stock_threshold) on public.shops to authenticated;
grant update (name, slug, currency, timezone, default_low_stock_threshold) on public.shops to authenticated;

grant select, delete on public.team_members to authenticated;
grant update (role) on public.team_members to authenticated;

grant select, delete on public.shop_invitations to service_role;
grant select on public.shop_invitations to authenticated;

-- The RLS helpers, to the roles whose policies call them.
grant execute on function
  private.is_shop_member(uuid),
  private.has_shop_role(uuid, public.team_role),
  private.is_platform_admin(),
  private.shares_shop_with(uuid)
  to authenticated, service_role;

-- ---------------------------------------------------------------------------
-- Caller checks of the SQL functions
-- ---------------------------------------------------------------------------

create function private.assert_shop_role(
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
      perform private.raise_api_error(404, 'not_found',
        jsonb_build_object(p_resource || '_id', p_resource_id),
        format('No %s with this id', p_resource));
    end if;
    return;
  end if;

  -- Not a member: the same answer as a missing row, so another shop's ids
  -- cannot be probed.
  if p_shop_id is null or not private.is_shop_member(p_shop_id) then
    perform private.raise_api_error(404, 'not_found',
      jsonb_build_object(p_resource || '_id', p_resource_id),
      format('No %s with this id', p_resource));
  end if;

  if not private.has_shop_role(p_shop_id, p_min_role) then
    perform private.raise_api_error(403, 'forbidden',
      jsonb_build_object('required_role', p_min_role),
      format('This needs the %s role or higher in this shop', p_min_role));
  end if;
end;
$$;

comment on function private.assert_shop_role(uuid, public.team_role, text, uuid) is
  'Returns when the caller is a trusted caller (and the shop exists) or a member of the shop with at least p_min_role. Otherwise raises PT404 not_found for non-members (detail {<resource>_id}) and PT403 forbidden for members below the role.';

-- Platform metrics, backups and restores are platform-wide: every entry point
-- requires a trusted caller (service_role, pg_cron / the database owner) or a
-- platform admin; a shop owner gets `forbidden`.
create function private.assert_platform_operator(p_action text)
returns void
language plpgsql
stable
set search_path = ''
as $$
begin
  if not (private.is_trusted_caller() or private.is_platform_admin()) then
    perform private.raise_api_error(403, 'forbidden',
      jsonb_build_object('action', p_action),
      'Only platform admins may ' || replace(p_action, '_', ' ') || '.');
  end if;
end;
$$;

comment on function private.assert_platform_operator(text) is
  'Raises PT403 forbidden unless the caller is a trusted caller (service_role, pg_cron, the database owner) or a platform admin.';

grant execute on function
  public.create_invitation(uuid, public.team_role, interval),
  public.lookup_invitation(text),
  public.accept_invitation(text),
  public.delete_invitation(uuid)
  to authenticated, service_role;

-- The invoker-rights readers of later migrations call these as the caller.
grant execute on function
  private.assert_shop_role(uuid, public.team_role, text, uuid),
  private.assert_platform_operator(text)
  to authenticated, service_role;

-- Postgres lets PUBLIC execute every new function: revoked, so that only the
-- grants above remain.
revoke execute on all functions in schema public, private from public;
