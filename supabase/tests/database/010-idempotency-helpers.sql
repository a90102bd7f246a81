-- The idempotency helpers every mutating function uses: unseen keys,
-- replay of the stored response, conflicts, scoping by shop, platform-wide
-- keys, and that no API role can call them directly.
begin;
select plan(11);

-- Shop A (owner, staff, viewer) and shop B (outsider): supabase/tests/helpers.sql.
select tests.create_two_shops();

select is(
  private.idempotency_lookup('00000000-0000-4000-a000-000000002001', null, 'update_stock', 'h1'),
  null,
  'no key: nothing to look up'
);

select is(
  private.idempotency_lookup('00000000-0000-4000-a000-000000002001', 'key-1', 'update_stock', 'h1'),
  null,
  'an unseen key returns null'
);

select private.idempotency_store('00000000-0000-4000-a000-000000002001', 'key-1', 'update_stock', 'h1',
                                 '{"new_stock": 7}');

select is(
  private.idempotency_lookup('00000000-0000-4000-a000-000000002001', 'key-1', 'update_stock', 'h1'),
  '{"new_stock": 7}'::jsonb,
  'the same key and request return the stored response'
);

select throws_ok(
  $$select private.idempotency_lookup('00000000-0000-4000-a000-000000002001', 'key-1', 'update_stock', 'h2')$$,
  'PT422', 'idempotency_conflict',
  'the same key with other arguments is an idempotency_conflict'
);

select throws_ok(
  $$select private.idempotency_lookup('00000000-0000-4000-a000-000000002001', 'key-1', 'process_order_stock_changes', 'h1')$$,
  'PT422', 'idempotency_conflict',
  'the same key for another action is an idempotency_conflict'
);

select is(
  private.idempotency_lookup('00000000-0000-4000-a000-000000002002', 'key-1', 'update_stock', 'h1'),
  null,
  'keys are scoped by shop: another shop''s identical key is unseen'
);

select private.idempotency_store(null, 'platform-key', 'create_backup_snapshot', 'h9', '{"backup_log_id": 1}');

select is(
  private.idempotency_lookup(null, 'platform-key', 'create_backup_snapshot', 'h9'),
  '{"backup_log_id": 1}'::jsonb,
  'platform-wide keys (null shop) replay too'
);

select throws_ok(
  $$select private.idempotency_store(null, 'platform-key', 'create_backup_snapshot', 'h9', '{}')$$,
  '23505', null,
  'a platform-wide key cannot be stored twice (unique nulls not distinct)'
);

select throws_ok(
  format($$select private.idempotency_lookup(null, %L, 'create_backup_snapshot', 'h9')$$, repeat('x', 256)),
  'PT400', 'invalid_request',
  'a key longer than 255 characters is invalid_request'
);

select ok(
  not has_function_privilege('authenticated', 'private.idempotency_lookup(uuid, text, text, text)', 'execute')
  and not has_function_privilege('authenticated', 'private.idempotency_store(uuid, text, text, text, jsonb)', 'execute')
  and not has_function_privilege('anon', 'private.idempotency_lookup(uuid, text, text, text)', 'execute'),
  'API roles cannot call the idempotency helpers directly'
);

select is(
  private.request_hash('{"b": 1, "a": 2}'::jsonb),
  private.request_hash('{"a": 2, "b": 1}'::jsonb),
  'the request hash does not depend on argument order'
);

select * from finish();
rollback;
