-- foundation: what every later migration builds on. Schema private, the
-- enums, the deny-by-default grants, the updated_at trigger and the trusted
-- caller test.
--
-- Security model, followed by every migration:
--   * Every table has RLS enabled beside its definition, with one policy per
--     operation, written `to authenticated`, calling the private helpers as
--     `(select private.fn(...))` so Postgres evaluates them once per statement.
--     anon has no policy, so it sees nothing; service_role bypasses RLS.
--   * Grants are deny-by-default (below): each migration grants back only what
--     its policies need, column by column where a role may write only some
--     columns.
--   * Helpers live in schema `private`, which PostgREST does not expose.
--   * Tables written only by functions or triggers (stock_history, metrics,
--     snapshots, backup logs, subscription_events, idempotency_keys) grant
--     no write right to clients at all.
--   * Every function sets search_path = ''. Every object of ours or of an
--     extension is named with its schema (public.items, private.is_shop_member,
--     auth.uid(), extensions.pgp_sym_encrypt, cron.schedule); built-ins of
--     pg_catalog are written bare (now(), jsonb_build_object(...)): pg_catalog
--     is searched first even with an empty search_path, so nothing can shadow
--     them and the prefix would only add noise.

create extension if not exists pgcrypto with schema extensions;

create schema if not exists private;
comment on schema private is
  'Not exposed by PostgREST: RLS helpers, trigger functions and secrets.';

-- ---------------------------------------------------------------------------
-- Grants: deny by default. Supabase grants every right on new objects of
-- schema public to anon, authenticated and service_role; from here on new
-- tables and sequences are granted to nobody and new functions to service_role
-- only, and every migration grants exactly what its policies and callers need.
-- ---------------------------------------------------------------------------

alter default privileges for role postgres in schema public
  revoke all on tables from anon, authenticated, service_role;
alter default privileges for role postgres in schema public
  revoke all on sequences from anon, authenticated, service_role;
alter default privileges for role postgres in schema public
  revoke execute on functions from public, anon, authenticated;
alter default privileges for role postgres in schema private
  revoke execute on functions from public;

grant usage on schema private to authenticated, service_role;

-- ---------------------------------------------------------------------------
-- Types
-- ---------------------------------------------------------------------------

-- Declared in privilege order, so `role >= 'admin'` means admin or owner.
create type public.team_role as enum ('viewer', 'staff', 'admin', 'owner');
create type public.subscription_plan as enum ('free', 'starter', 'pro', 'business');
create type public.subscription_status as enum ('trialing', 'active', 'past_due', 'canceled');
create type public.billing_interval as enum ('month', 'year');
create type public.item_type as enum ('product', 'service');
create type public.order_status as enum (
  'pending', 'confirmed', 'processing', 'shipped', 'delivered', 'completed', 'cancelled', 'refunded'
);
create type public.payment_status as enum ('unpaid', 'pending', 'paid', 'partially_refunded', 'refunded', 'failed');
create type public.order_channel as enum ('form', 'messenger', 'instagram', 'whatsapp', 'manual');
create type public.payment_method_type as enum ('bank_transfer', 'mobile_wallet', 'cod', 'card', 'other');
create type public.social_platform as enum ('facebook', 'messenger', 'instagram', 'whatsapp', 'tiktok', 'web');
create type public.conversation_status as enum ('open', 'closed', 'archived');
create type public.message_sender_type as enum ('customer', 'agent', 'ai', 'system');
create type public.keyword_match_type as enum ('exact', 'contains', 'starts_with');
create type public.sync_state as enum ('idle', 'running', 'error');
create type public.integration_status as enum ('active', 'expired', 'revoked', 'error');
create type public.data_extension_status as enum ('pending', 'active', 'expired', 'rejected');
create type public.subscription_event_kind as enum ('new', 'expansion', 'contraction', 'churn', 'reactivation');

-- ---------------------------------------------------------------------------
-- Shared trigger function
-- ---------------------------------------------------------------------------

create function private.set_updated_at()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  new.updated_at := now();
  return new;
end;
$$;
comment on function private.set_updated_at() is
  'Trigger: keeps updated_at equal to the time of the last update.';

create function private.is_trusted_caller()
returns boolean
language sql
stable
set search_path = ''
as $$
  select coalesce(auth.jwt() ->> 'role', '') = 'service_role'
    or (session_user = 'postgres' and auth.jwt() is null);
$$;
comment on function private.is_trusted_caller() is
  'True for a service_role JWT, and for the database owner''s own session without JWT claims (pg_cron jobs, psql). '
  'Requests through the API log in as authenticator, so end users never match the second branch.';

-- ---------------------------------------------------------------------------
-- API errors
-- ---------------------------------------------------------------------------

-- Every expected failure of a SQL function goes through this one helper, so
-- the API sees one shape: PostgREST answers an errcode PTxxx with HTTP status
-- xxx and puts message, detail and hint in its JSON error (code, message,
-- details, hint); the edge functions map the same fields.
create function private.raise_api_error(p_status integer, p_code text, p_detail jsonb, p_hint text)
returns void
language plpgsql
set search_path = ''
as $$
begin
  if p_status is null or p_status not between 400 and 599 or p_code is null then
    raise exception 'raise_api_error needs an HTTP status 400-599 and a code, got % %', p_status, p_code;
  end if;
  raise exception using
    errcode = 'PT' || p_status,
    message = p_code,
    detail = coalesce(p_detail, '{}'::jsonb)::text,
    hint = coalesce(p_hint, '');
end;
$$;
comment on function private.raise_api_error(integer, text, jsonb, text) is
  'Always raises: errcode PT<p_status> (PostgREST answers HTTP p_status), message = p_code (the stable API code), '
  'detail = p_detail as JSON text (''{}'' when null), hint = p_hint (a sentence for people). Never returns.';

-- Every later migration's policies and functions call these as the caller.
grant execute on function
  private.is_trusted_caller(),
  private.raise_api_error(integer, text, jsonb, text)
  to authenticated, service_role;

-- Postgres lets PUBLIC execute every new function: revoked, so that only the
-- grants above remain.
revoke execute on all functions in schema public, private from public;
