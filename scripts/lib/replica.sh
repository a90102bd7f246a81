# shellcheck shell=bash
# A streaming hot standby of the stack's Postgres, standing in for a hosted
# read replica: `scripts/dev --replica` and the replica test layer start it,
# and the gateway then sends /rest/v1 GET and HEAD requests to it (as
# hosted's API load balancer does) and everything else to the primary.
# Sourced by stack.sh; defines functions only.
#
#   replica_start  pg_basebackup of the running primary (once), then start it
#   replica_stop   stop it (its data stays until scripts/dev reset)

REPLICA_DATA="$LOCAL_DIR/pg/replica"
REPLICA_LOG="$LOCAL_DIR/pg/replica.log"
REPLICA_PORT="${REPLICA_PORT:-$((PORT_BASE + 323))}"
REPLICA_DATABASE_URL="postgresql://postgres:postgres@127.0.0.1:$REPLICA_PORT/postgres?sslmode=disable"
# Pausing and resuming the standby's replay (the replica test) takes the superuser.
REPLICA_ADMIN_URL="postgresql://supabase_admin:postgres@127.0.0.1:$REPLICA_PORT/postgres?sslmode=disable"
REPLICA_AUTHENTICATOR_URL="postgresql://authenticator:postgres@127.0.0.1:$REPLICA_PORT/postgres?sslmode=disable"

replica_is_running() {
  [ -f "$REPLICA_DATA/postmaster.pid" ] && as_pg_user "$PG_BIN/pg_ctl" -D "$REPLICA_DATA" status >/dev/null 2>&1
}

replica_start() {
  replica_is_running && { note "replica already running on port $REPLICA_PORT"; return 0; }
  if [ ! -f "$REPLICA_DATA/PG_VERSION" ]; then
    step "pg_basebackup: a streaming standby into ${REPLICA_DATA#"$ROOT"/}"
    mkdir -p "$REPLICA_DATA"
    chmod 700 "$REPLICA_DATA"
    [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$REPLICA_DATA"
    # -R writes primary_conninfo and standby.signal; -X stream copies the WAL
    # written meanwhile, so the copy is consistent on its own.
    as_pg_user "$PG_BIN/pg_basebackup" -h "$LOCAL_DIR/pg" -p "$PG_PORT" -U supabase_admin \
      -D "$REPLICA_DATA" -R -X stream -c fast
    # postgresql.auto.conf is read last, so these win over the primary's copied settings.
    cat >>"$REPLICA_DATA/postgresql.auto.conf" <<CONF
port = $REPLICA_PORT
hot_standby = on
CONF
  fi
  step "starting the replica on 127.0.0.1:$REPLICA_PORT"
  as_pg_user "$PG_BIN/pg_ctl" -D "$REPLICA_DATA" -l "$REPLICA_LOG" -w -t 60 start >/dev/null
  local recovering
  for _ in $(seq 1 100); do
    recovering="$(psql "$REPLICA_DATABASE_URL" -Atqc 'select pg_is_in_recovery()' 2>/dev/null || true)"
    [ "$recovering" = t ] && return 0
    sleep 0.1
  done
  die "the replica did not come up as a hot standby (see $REPLICA_LOG)"
}

replica_stop() {
  replica_is_running || return 0
  step "stopping the replica"
  as_pg_user "$PG_BIN/pg_ctl" -D "$REPLICA_DATA" -m fast -w stop >/dev/null
}
