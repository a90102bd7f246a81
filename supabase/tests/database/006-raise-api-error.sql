-- private.raise_api_error, the one way SQL functions report an expected
-- failure: errcode PT<status> (PostgREST's HTTP status), message = the API
-- code, detail = a JSON object as text, hint = a sentence; and it refuses a
-- status that is not an HTTP error.
begin;
select plan(5);

select is(
  tests.error_of($$select private.raise_api_error(409, 'stale_stock',
                    jsonb_build_object('item_id', 'i-1', 'current_stock', 3), 'Reload and try again')$$),
  '{"code": "PT409", "message": "stale_stock", "detail": {"item_id": "i-1", "current_stock": 3},
    "hint": "Reload and try again"}'::jsonb,
  'status, code, detail and hint reach the error as PostgREST reads them'
);

select is(
  (select (error_of ->> 'detail') from (select tests.error_of(
    $$select private.raise_api_error(404, 'not_found', null, 'No such thing')$$) as error_of) e),
  '{}',
  'a null detail is the empty JSON object, so details is always an object'
);

select throws_ok(
  $$select private.raise_api_error(400, 'invalid_request', '{"field": "x"}', 'x is required')$$,
  'PT400', 'invalid_request',
  'a JSON literal detail works as well'
);

select throws_ok(
  $$select private.raise_api_error(200, 'ok', '{}', 'not an error')$$,
  'P0001', 'raise_api_error needs an HTTP status 400-599 and a code, got 200 ok',
  'a status outside 400-599 is a programming error, not an API answer'
);

-- The invoker-rights callers (assert_shop_role, readers) raise as the caller.
select tests.authenticate_as('00000000-0000-4000-a000-000000001002');
select throws_ok(
  $$select private.raise_api_error(403, 'forbidden', '{}', 'No')$$,
  'PT403', 'forbidden',
  'authenticated may call it (invoker-rights functions raise through it)'
);

select * from finish();
rollback;
