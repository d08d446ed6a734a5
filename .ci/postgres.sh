# Sourced by .ci/run: start a throwaway PostgreSQL server on loopback for the store's tests and
# export CONNEVO_TEST_POSTGRES_URL; the server is stopped and its data directory removed when the CI run exits.
if ! ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1; then
  apt-get update -qq && apt-get install -y -qq postgresql >/dev/null
fi
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
PGDATA=$(mktemp -d /tmp/connevo-pg.XXXXXX)
PGPORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
chown postgres "$PGDATA"
su postgres -s /bin/sh -c "$PGBIN/initdb -D $PGDATA -A trust -U postgres" >/dev/null
su postgres -s /bin/sh -c "$PGBIN/pg_ctl -D $PGDATA -o '-p $PGPORT -k $PGDATA -c listen_addresses=127.0.0.1' -l $PGDATA/server.log start -w" >/dev/null
trap 'su postgres -s /bin/sh -c "$PGBIN/pg_ctl -D $PGDATA stop -m fast" >/dev/null 2>&1; rm -rf "$PGDATA"' EXIT
export CONNEVO_TEST_POSTGRES_URL="postgresql+psycopg://postgres@127.0.0.1:$PGPORT/postgres"
