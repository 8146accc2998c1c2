#!/bin/sh
# Renders sentinel.conf.template (mounted at /etc/spoke/sentinel.conf.template)
# into /data on the first start — Sentinel rewrites its file with what it
# learns, e.g. a failover, which must survive a restart — and starts the
# Sentinel. Needs REDIS_PASSWORD, ANNOUNCE_HOST (this container's name) and
# MASTER_HOST (the initial master's name).
set -eu
: "${REDIS_PASSWORD:?REDIS_PASSWORD must be set}"
: "${ANNOUNCE_HOST:?ANNOUNCE_HOST must be set}"
: "${MASTER_HOST:?MASTER_HOST must be set}"
conf=/data/sentinel.conf
if [ ! -s "$conf" ]; then
    sed -e "s|@PORT@|26379|" -e "s|@BIND@|* -::*|" -e "s|@DIR@|/data|" \
        -e "s|@PASSWORD@|${REDIS_PASSWORD}|" -e "s|@ANNOUNCE_HOST@|${ANNOUNCE_HOST}|" \
        -e "s|@MASTER_HOST@|${MASTER_HOST}|" -e "s|@MASTER_PORT@|6379|" \
        /etc/spoke/sentinel.conf.template > "$conf"
fi
# The image's entrypoint drops to the redis user (and chowns /data, so
# Sentinel can rewrite its file).
exec docker-entrypoint.sh redis-server "$conf" --sentinel
