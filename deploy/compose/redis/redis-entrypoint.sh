#!/bin/sh
# Renders redis.conf.template (mounted at /etc/spoke/redis.conf.template)
# for this container and starts redis-server with it; extra arguments (the
# replica's --replicaof) are passed on. Needs REDIS_PASSWORD and
# ANNOUNCE_HOST (this container's name on the network).
set -eu
: "${REDIS_PASSWORD:?REDIS_PASSWORD must be set}"
: "${ANNOUNCE_HOST:?ANNOUNCE_HOST must be set}"
conf=/data/redis.conf
sed -e "s|@PORT@|6379|" -e "s|@BIND@|* -::*|" -e "s|@DIR@|/data|" \
    -e "s|@PASSWORD@|${REDIS_PASSWORD}|" -e "s|@ANNOUNCE_HOST@|${ANNOUNCE_HOST}|" \
    /etc/spoke/redis.conf.template > "$conf"
# The image's entrypoint drops to the redis user (and chowns /data).
exec docker-entrypoint.sh redis-server "$conf" "$@"
