#!/usr/bin/env bash
# Restores a backup made by backup-postgres.sh into Spoke's PostgreSQL
# database, after a confirmation. See docs/backup.md.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=common.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/common.sh"

usage() {
    cat <<'USAGE'
Usage: restore-postgres.sh [options] FILE

Restores FILE (a .sql.gz or .sql written by backup-postgres.sh, or an
s3://bucket/key it uploaded) into the database, in one transaction with
psql -v ON_ERROR_STOP=1: any error rolls the whole restore back. Tables in
the backup replace those of the same name in the database; restore into an
empty database (or one holding only Spoke's tables). Stop the Spoke servers
first, and let them start again after the restore.

Asks for confirmation on stdin (type "yes") unless --yes is given.

Options:
  --url URL     database to restore into (default: SPOKE_POSTGRES_URL)
  -y, --yes     do not ask for confirmation
  -h, --help    show this help

An s3:// FILE is downloaded with the aws CLI using SPOKE_S3_ENDPOINT,
SPOKE_S3_REGION, SPOKE_S3_ACCESS_KEY, SPOKE_S3_SECRET_KEY and
SPOKE_S3_FORCE_PATH_STYLE. A password in the URL is passed to psql through
PGPASSWORD, never on a command line or in a message.
USAGE
}

url=${SPOKE_POSTGRES_URL:-}
assume_yes=false
file=""

while (($# > 0)); do
    case $1 in
        -h | --help) usage; exit 0 ;;
        -y | --yes) assume_yes=true; shift ;;
        --url)
            (($# >= 2)) || die "--url needs a value (see --help)"
            url=$2
            shift 2
            ;;
        --) shift; break ;;
        -*) die "unknown option '$1' (see --help)" ;;
        *)
            [[ -z $file ]] || die "give exactly one backup file (see --help)"
            file=$1
            shift
            ;;
    esac
done
if (($# > 0)); then
    [[ -z $file && $# -eq 1 ]] || die "give exactly one backup file (see --help)"
    file=$1
fi

[[ -n $file ]] || die "no backup file given (see --help)"
[[ -n $url ]] || die "no database: set SPOKE_POSTGRES_URL or pass --url (see --help)"
require_tool psql "to restore the dump"
split_postgres_url "$url"

if [[ $file == s3://* ]]; then
    setup_aws_cli
    download=$(mktemp --suffix=".${file##*.}")
    CLEANUP_FILES+=("$download")
    note "downloading $file"
    "${AWS_CLI[@]}" s3 cp --only-show-errors -- "$file" "$download" >&2 || die "downloading $file failed"
    source_name=$file
    file=$download
else
    source_name=$file
    [[ -f $file ]] || die "no such backup file: $file"
    [[ -r $file ]] || die "cannot read the backup file $file"
fi

# Check the whole file before the database is touched.
case $file in
    *.gz)
        require_tool gzip "to decompress the backup"
        gzip -t -- "$file" 2>/dev/null || die "$source_name is not a complete gzip file (truncated or damaged)"
        decompress=(gzip -dc --)
        ;;
    *.sql) decompress=(cat --) ;;
    *) die "$source_name is neither a .sql.gz nor a .sql file" ;;
esac

if [[ $assume_yes != true ]]; then
    printf 'Restore %s into %s?\nTables in the backup replace those of the same name there. Type "yes" to continue: ' \
        "$source_name" "$PG_URL_SHOWN" >&2
    answer=""
    read -r answer || true
    [[ $answer == yes ]] || die "restore not confirmed; nothing was changed"
fi

note "restoring $source_name into $PG_URL_SHOWN"
"${decompress[@]}" "$file" |
    psql --no-psqlrc --quiet --single-transaction -v ON_ERROR_STOP=1 --dbname="$PG_URL" --output=/dev/null ||
    die "the restore failed and was rolled back (see the messages above); the database is as it was"
# A plain dump carries no planner statistics; gather them now rather than
# serve the first requests with bad plans.
psql --no-psqlrc --quiet -v ON_ERROR_STOP=1 --dbname="$PG_URL" --command=ANALYZE ||
    die "the restore succeeded but ANALYZE failed; run ANALYZE on the database by hand"
note "restore complete"
