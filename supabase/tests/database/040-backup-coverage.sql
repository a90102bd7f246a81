-- What a snapshot holds: every shop-scoped table, unless it is left out on
-- purpose. A new table with a shop_id that nobody listed fails here, so a
-- backup can never silently miss a shop's data.
begin;
select plan(4);

-- Left out on purpose (see private.backup_tables()): the platform's billing
-- ledger, the 24 h replay cache, and the backup tables themselves.
select set_eq(
  $$select c.relname::text
      from pg_class c
      join pg_namespace n on n.oid = c.relnamespace
     where n.nspname = 'public' and c.relkind in ('r', 'p')
       and (c.relname = 'shops'
            or exists (select 1 from pg_attribute a
                        where a.attrelid = c.oid and a.attname = 'shop_id' and not a.attisdropped))
    except
    -- shop_invitations: pending, single-use secrets, not shop data to bring back
    select unnest(array['subscription_events', 'idempotency_keys', 'backup_logs', 'recovery_snapshots',
                        'recovery_snapshot_parts', 'shop_invitations'])$$,
  $$select table_name from private.backup_tables()$$,
  'snapshots hold exactly the shop-scoped tables not excluded on purpose');

select is_empty(
  $$select table_name from private.backup_tables() where private.primary_key_columns(table_name) is null$$,
  'every backed-up table has a primary key (rows are ordered and matched by it)');

select is_empty(
  $$select c.conname::text
      from pg_constraint c
      join private.backup_tables() child on c.conrelid = ('public.' || child.table_name)::regclass
      join private.backup_tables() parent on c.confrelid = ('public.' || parent.table_name)::regclass
     where c.contype = 'f' and c.conrelid <> c.confrelid
       and parent.restore_order >= child.restore_order$$,
  'restore order puts every referenced table before the tables referencing it');

select is(
  private.snapshot_checksum('{"b": [1], "a": {"y": 2, "x": "é"}}'::jsonb),
  encode(sha256(convert_to('{"a": {"x": "é", "y": 2}, "b": [1]}', 'UTF8')), 'hex'),
  'checksum = sha256 of the canonical jsonb text (keys sorted, fixed spacing, UTF-8)');

select * from finish();
rollback;
