-- messaging: customer conversations, their messages, keyword auto-replies and
-- agents' saved replies.

-- ---------------------------------------------------------------------------
-- conversations and messages
-- ---------------------------------------------------------------------------

create table public.conversations (
  id uuid primary key default gen_random_uuid(),
  shop_id uuid not null references public.shops (id) on delete cascade,
  platform public.social_platform not null,
  external_id text check (length(external_id) <= 255),
  customer_name text check (length(customer_name) <= 200),
  customer_ref text check (length(customer_ref) <= 255),
  status public.conversation_status not null default 'open',
  ai_enabled boolean not null default true,
  assigned_to uuid references public.profiles (id) on delete set null,
  last_message_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint conversations_shop_platform_external_key unique (shop_id, platform, external_id),
  constraint conversations_id_shop_id_key unique (id, shop_id)
);
alter table public.conversations enable row level security;
comment on table public.conversations is 'Customer chats, one per customer thread on a platform.';

create index conversations_shop_id_last_message_at_idx on public.conversations (shop_id, last_message_at desc);
create index conversations_shop_id_status_idx on public.conversations (shop_id, status);
create index conversations_shop_id_created_at_idx on public.conversations (shop_id, created_at);
create index conversations_assigned_to_idx on public.conversations (assigned_to);

create trigger conversations_set_updated_at before update on public.conversations
  for each row execute function private.set_updated_at();

create table public.messages (
  id uuid primary key default gen_random_uuid(),
  conversation_id uuid not null,
  shop_id uuid not null references public.shops (id) on delete cascade,
  sender_type public.message_sender_type not null,
  sender_id uuid references public.profiles (id) on delete set null,
  content text not null check (length(content) <= 20000),
  is_ai_generated boolean not null default false,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint messages_conversation_fkey foreign key (conversation_id, shop_id)
    references public.conversations (id, shop_id) on delete cascade
);
alter table public.messages enable row level security;
comment on table public.messages is 'Chat messages; shop_id always equals the conversation''s shop (composite foreign key).';

create index messages_conversation_id_created_at_idx on public.messages (conversation_id, created_at);
create index messages_shop_id_created_at_idx on public.messages (shop_id, created_at);
create index messages_created_at_idx on public.messages (created_at);
create index messages_sender_id_idx on public.messages (sender_id);

create trigger messages_set_updated_at before update on public.messages
  for each row execute function private.set_updated_at();

create function private.touch_conversation_last_message()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  -- security definer: staff may insert a message without update rights on
  -- every conversation column; this only moves last_message_at forward.
  update public.conversations c
     set last_message_at = new.created_at
   where c.id = new.conversation_id
     and (c.last_message_at is null or c.last_message_at < new.created_at);
  return null;
end;
$$;
comment on function private.touch_conversation_last_message() is
  'Trigger: a conversation''s last_message_at is the time of its newest message.';

create trigger messages_touch_conversation after insert on public.messages
  for each row execute function private.touch_conversation_last_message();

-- ---------------------------------------------------------------------------
-- keyword_replies, saved_replies
-- ---------------------------------------------------------------------------

create table public.keyword_replies (
  id uuid primary key default gen_random_uuid(),
  shop_id uuid not null references public.shops (id) on delete cascade,
  -- at most 50 keywords, about 100 characters each
  keywords text[] not null check (cardinality(keywords) between 1 and 50 and octet_length(keywords::text) <= 5000),
  match_type public.keyword_match_type not null default 'contains',
  reply text not null check (length(reply) between 1 and 5000),
  priority integer not null default 0,
  is_active boolean not null default true,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
alter table public.keyword_replies enable row level security;
comment on table public.keyword_replies is 'Automated replies sent when a customer message matches a keyword.';

create index keyword_replies_shop_id_idx on public.keyword_replies (shop_id, is_active, priority desc);

create trigger keyword_replies_set_updated_at before update on public.keyword_replies
  for each row execute function private.set_updated_at();

create table public.saved_replies (
  id uuid primary key default gen_random_uuid(),
  shop_id uuid not null references public.shops (id) on delete cascade,
  title text not null check (length(btrim(title)) between 1 and 200),
  content text not null check (length(content) between 1 and 5000),
  shortcut text check (length(shortcut) <= 50),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint saved_replies_shop_id_shortcut_key unique (shop_id, shortcut)
);
alter table public.saved_replies enable row level security;
comment on table public.saved_replies is 'Quick-reply templates for agents.';

create trigger saved_replies_set_updated_at before update on public.saved_replies
  for each row execute function private.set_updated_at();

-- ---------------------------------------------------------------------------
-- RLS policies
-- ---------------------------------------------------------------------------

-- conversations and messages: members read, staff create and update, admins
-- delete; keyword and saved replies: members read, admins write.
create policy keyword_replies_select on public.keyword_replies for select to authenticated
  using ((select private.is_shop_member(shop_id)));
create policy keyword_replies_insert on public.keyword_replies for insert to authenticated
  with check ((select private.has_shop_role(shop_id, 'admin')));
create policy keyword_replies_update on public.keyword_replies for update to authenticated
  using ((select private.has_shop_role(shop_id, 'admin')))
  with check ((select private.has_shop_role(shop_id, 'admin')));
create policy keyword_replies_delete on public.keyword_replies for delete to authenticated
  using ((select private.has_shop_role(shop_id, 'admin')));

create policy saved_replies_select on public.saved_replies for select to authenticated
  using ((select private.is_shop_member(shop_id)));
create policy saved_replies_insert on public.saved_replies for insert to authenticated
  with check ((select private.has_shop_role(shop_id, 'admin')));
create policy saved_replies_update on public.saved_replies for update to authenticated
  using ((select private.has_shop_role(shop_id, 'admin')))
  with check ((select private.has_shop_role(shop_id, 'admin')));
create policy saved_replies_delete on public.saved_replies for delete to authenticated
  using ((select private.has_shop_role(shop_id, 'admin')));

create policy conversations_select on public.conversations for select to authenticated
  using ((select private.is_shop_member(shop_id)));
create policy conversations_insert on public.conversations for insert to authenticated
  with check ((select private.has_shop_role(shop_id, 'staff')));
create policy conversations_update on public.conversations for update to authenticated
  using ((select private.has_shop_role(shop_id, 'staff')))
  with check ((select private.has_shop_role(shop_id, 'staff')));
create policy conversations_delete on public.conversations for delete to authenticated
  using ((select private.has_shop_role(shop_id, 'admin')));

create policy messages_select on public.messages for select to authenticated
  using ((select private.is_shop_member(shop_id)));
create policy messages_insert on public.messages for insert to authenticated
  with check ((select private.has_shop_role(shop_id, 'staff')));
create policy messages_update on public.messages for update to authenticated
  using ((select private.has_shop_role(shop_id, 'staff')))
  with check ((select private.has_shop_role(shop_id, 'staff')));
create policy messages_delete on public.messages for delete to authenticated
  using ((select private.has_shop_role(shop_id, 'admin')));

-- ---------------------------------------------------------------------------
-- Grants
-- ---------------------------------------------------------------------------

grant select, insert, update, delete on public.conversations, public.messages,
  public.keyword_replies, public.saved_replies to service_role;

grant select, delete on public.conversations to authenticated;
grant insert (id, shop_id, platform, external_id, customer_name, customer_ref, status, ai_enabled, assigned_to)
  on public.conversations to authenticated;
grant update (customer_name, customer_ref, status, ai_enabled, assigned_to)
  on public.conversations to authenticated;

grant select, delete on public.messages to authenticated;
grant insert (id, conversation_id, shop_id, sender_type, sender_id, content, is_ai_generated)
  on public.messages to authenticated;
grant update (content) on public.messages to authenticated;

grant select, delete on public.keyword_replies to authenticated;
grant insert (id, shop_id, keywords, match_type, reply, priority, is_active) on public.keyword_replies to authenticated;
grant update (keywords, match_type, reply, priority, is_active) on public.keyword_replies to authenticated;

grant select, delete on public.saved_replies to authenticated;
grant insert (id, shop_id, title, content, shortcut) on public.saved_replies to authenticated;
grant update (title, content, shortcut) on public.saved_replies to authenticated;

-- Postgres lets PUBLIC execute every new function: revoked, so that only the
-- grants above remain.
revoke execute on all functions in schema public, private from public;
