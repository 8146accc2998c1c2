#!/bin/bash
# The replica's entrypoint: on the first start (empty data directory) clone
# the primary with pg_basebackup -R, which also writes standby.signal and
# primary_conninfo, so the server starts as a streaming hot standby; then
# hand over to the image's entrypoint. Needs PRIMARY_HOST and PGPASSWORD
# (the replicator role's password).
set -euo pipefail
: "${PRIMARY_HOST:?PRIMARY_HOST must be set}"
: "${PGPASSWORD:?PGPASSWORD must be set}"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    mkdir -p "$PGDATA"
    chown postgres:postgres "$PGDATA"
    chmod 0700 "$PGDATA"
    # The primary may still be initialising: retry until it answers.
    until gosu postgres pg_basebackup --host="$PRIMARY_HOST" --username=replicator \
        --pgdata="$PGDATA" --wal-method=stream --write-recovery-conf --checkpoint=fast; do
        echo "replica: the primary is not ready for pg_basebackup yet; retrying in 2s" >&2
        find "$PGDATA" -mindepth 1 -delete
        sleep 2
    done
fi
exec docker-entrypoint.sh postgres -c hot_standby=on
