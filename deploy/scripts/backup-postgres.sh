#!/usr/bin/env bash
# Backs up Spoke's PostgreSQL database: pg_dump | gzip, optional upload to an
# S3-compatible bucket, retention. See docs/backup.md.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=common.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/common.sh"

# Backups are named <prefix>-<UTC timestamp>.sql.gz; only files and objects
# of exactly this shape are ever counted or deleted by retention.
readonly BACKUP_STAMP_REGEX='[0-9]{8}T[0-9]{6}Z'

usage() {
    cat <<'USAGE'
Usage: backup-postgres.sh [options]

Dumps Spoke's PostgreSQL database (pg_dump, plain SQL, gzip-compressed) to
  <dir>/<prefix>-<UTC timestamp>.sql.gz
optionally uploads it to an S3-compatible bucket, then deletes old backups
(locally and in the bucket) by the retention rules. Prints the new file's
path on stdout; progress goes to stderr.

Options (each defaults to the environment variable shown):
  --url URL             database to dump                 SPOKE_POSTGRES_URL
  --dir DIR             directory for backups            BACKUP_DIR (else ./backups)
  --prefix NAME         file-name prefix                 BACKUP_PREFIX (else spoke-postgres)
  --keep N              keep only the N newest backups   BACKUP_KEEP
  --retention-days D    delete backups older than D days BACKUP_RETENTION_DAYS
  --bucket NAME         also upload to this bucket       SPOKE_BACKUP_S3_BUCKET
  --s3-prefix PREFIX    key prefix in the bucket         SPOKE_BACKUP_S3_PREFIX (else postgres/)
  -h, --help            show this help

The bucket is reached with the aws CLI using SPOKE_S3_ENDPOINT, SPOKE_S3_REGION,
SPOKE_S3_ACCESS_KEY, SPOKE_S3_SECRET_KEY and SPOKE_S3_FORCE_PATH_STYLE (or the
aws CLI's own configuration). Retention runs only after a successful backup
and only touches names of the shape above. A password in the URL is passed
to pg_dump through PGPASSWORD, never on a command line or in a message.
USAGE
}

url=${SPOKE_POSTGRES_URL:-}
dir=${BACKUP_DIR:-./backups}
prefix=${BACKUP_PREFIX:-spoke-postgres}
keep=${BACKUP_KEEP:-}
retention_days=${BACKUP_RETENTION_DAYS:-}
bucket=${SPOKE_BACKUP_S3_BUCKET:-}
s3_prefix=${SPOKE_BACKUP_S3_PREFIX:-postgres/}

while (($# > 0)); do
    case $1 in
        -h | --help) usage; exit 0 ;;
        --url | --dir | --prefix | --keep | --retention-days | --bucket | --s3-prefix)
            (($# >= 2)) || die "$1 needs a value (see --help)"
            case $1 in
                --url) url=$2 ;;
                --dir) dir=$2 ;;
                --prefix) prefix=$2 ;;
                --keep) keep=$2 ;;
                --retention-days) retention_days=$2 ;;
                --bucket) bucket=$2 ;;
                --s3-prefix) s3_prefix=$2 ;;
            esac
            shift 2
            ;;
        *) die "unknown argument '$1' (see --help)" ;;
    esac
done

[[ -n $url ]] || die "no database: set SPOKE_POSTGRES_URL or pass --url (see --help)"
[[ $prefix =~ ^[A-Za-z0-9._-]+$ ]] || die "--prefix may hold only letters, digits, '.', '_' and '-'"
[[ -z $keep || $keep =~ ^[1-9][0-9]*$ ]] || die "--keep / BACKUP_KEEP must be a whole number of at least 1, got '$keep'"
[[ -z $retention_days || $retention_days =~ ^[0-9]+$ ]] ||
    die "--retention-days / BACKUP_RETENTION_DAYS must be a whole number of days, got '$retention_days'"
if [[ -n $s3_prefix && $s3_prefix != */ ]]; then
    s3_prefix+=/
fi

require_tool pg_dump "to dump the database"
require_tool gzip "to compress the dump"
split_postgres_url "$url"
if [[ -n $bucket ]]; then
    setup_aws_cli
    # Before the dump, so that a wrong bucket or key fails in seconds.
    "${AWS_CLI[@]}" s3api head-bucket --bucket "$bucket" >/dev/null ||
        die "cannot reach the bucket '$bucket' (see the message above); nothing was dumped"
fi

mkdir -p -- "$dir" || die "cannot create the backup directory $dir"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
name="$prefix-$stamp.sql.gz"
file="$dir/$name"
[[ ! -e $file ]] || die "$file already exists (two backups in the same second?)"

# Written under a temporary name and renamed when complete, so that a failed
# or interrupted dump never looks like a backup.
partial="$dir/.$name.partial"
CLEANUP_FILES+=("$partial")
note "dumping $PG_URL_SHOWN to $file"
# --clean --if-exists: the dump also restores over an existing schema;
# --no-owner --no-privileges: it restores as whichever role runs it.
pg_dump --dbname="$PG_URL" --format=plain --clean --if-exists --no-owner --no-privileges |
    gzip -6 >"$partial" ||
    die "pg_dump of $PG_URL_SHOWN failed (see the messages above); no backup was written"
mv -- "$partial" "$file" || die "cannot move the finished dump to $file"

if [[ -n $bucket ]]; then
    destination="s3://$bucket/$s3_prefix$name"
    note "uploading to $destination"
    "${AWS_CLI[@]}" s3 cp --only-show-errors -- "$file" "$destination" >&2 ||
        die "uploading to $destination failed (the local backup $file is kept)"
fi

# Of the names on stdin, those of the backup shape, oldest first.
backup_names() {
    local pattern="^${prefix//./\\.}-${BACKUP_STAMP_REGEX}\.sql\.gz$" name
    while IFS= read -r name; do
        if [[ $name =~ $pattern ]]; then
            printf '%s\n' "$name"
        fi
    done | LC_ALL=C sort
}

# Of the backup names on stdin (oldest first), those retention deletes.
expired_names() {
    local -a names=()
    mapfile -t names
    local count=${#names[@]} cutoff="" i
    if [[ -n $retention_days ]]; then
        cutoff=$(date -u -d "@$(($(date -u +%s) - retention_days * 86400))" +%Y%m%dT%H%M%SZ)
    fi
    for ((i = 0; i < count; i++)); do
        local name=${names[i]} name_stamp
        name_stamp=${name#"$prefix-"}
        name_stamp=${name_stamp%.sql.gz}
        if [[ -n $keep ]] && ((i < count - keep)); then
            printf '%s\n' "$name"
        elif [[ -n $cutoff && $name_stamp < $cutoff ]]; then
            printf '%s\n' "$name"
        fi
    done
}

if [[ -n $keep || -n $retention_days ]]; then
    shopt -s nullglob
    local_files=("$dir"/*.sql.gz)
    shopt -u nullglob
    while IFS= read -r old; do
        note "retention: deleting $dir/$old"
        rm -f -- "${dir:?}/$old" || die "cannot delete the old backup $dir/$old"
    done < <(printf '%s\n' "${local_files[@]##*/}" | backup_names | expired_names)

    if [[ -n $bucket ]]; then
        listing=$("${AWS_CLI[@]}" s3api list-objects-v2 --bucket "$bucket" --prefix "$s3_prefix$prefix-" \
            --query 'Contents[].Key' --output text) ||
            die "listing s3://$bucket/$s3_prefix for retention failed (the new backup is stored)"
        while IFS= read -r old; do
            note "retention: deleting s3://$bucket/$s3_prefix$old"
            "${AWS_CLI[@]}" s3 rm --only-show-errors -- "s3://$bucket/$s3_prefix$old" >&2 ||
                die "deleting s3://$bucket/$s3_prefix$old failed"
        done < <(tr '\t' '\n' <<<"$listing" | while IFS= read -r key; do
            printf '%s\n' "${key#"$s3_prefix"}"
        done | backup_names | expired_names)
    fi
fi

note "backup complete"
printf '%s\n' "$file"
