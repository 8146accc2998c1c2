# Shared by backup-postgres.sh and restore-postgres.sh; sourced, not run.
# The variables set here are read by those scripts, hence SC2034.
# shellcheck shell=bash disable=SC2034

die() {
    printf '%s: error: %s\n' "${0##*/}" "$*" >&2
    exit 1
}

note() {
    printf '%s: %s\n' "${0##*/}" "$*" >&2
}

require_tool() {
    command -v "$1" >/dev/null 2>&1 || die "'$1' is not installed (needed $2)"
}

# Moves the password of a postgres:// URL into PGPASSWORD (percent-decoded)
# and sets PG_URL to the URL without it, so that the password appears
# neither in the process list nor in any message. PG_URL_SHOWN is the URL
# with the password masked, for messages.
split_postgres_url() {
    local url=$1
    [[ $url =~ ^postgres(ql)?:// ]] ||
        die "the database URL must start with postgres:// or postgresql:// (got something else; the value is not shown in case it holds a password)"
    local scheme=${url%%://*} rest=${url#*://}
    local authority=${rest%%/*} after_authority=""
    [[ $rest == */* ]] && after_authority=/${rest#*/}
    PG_URL=$url
    PG_URL_SHOWN=$url
    if [[ $authority == *@* ]]; then
        local userinfo=${authority%@*} host=${authority##*@}
        if [[ $userinfo == *:* ]]; then
            local user=${userinfo%%:*} encoded=${userinfo#*:}
            # Escape backslashes first so that printf %b decodes only %XX.
            encoded=${encoded//\\/\\\\}
            PGPASSWORD=$(printf '%b' "${encoded//%/\\x}")
            export PGPASSWORD
            PG_URL="$scheme://$user@$host$after_authority"
            PG_URL_SHOWN="$scheme://$user:***@$host$after_authority"
        fi
    fi
    [[ $PG_URL == *[?\&]password=* ]] &&
        die "put the password in the URL's user info or in PGPASSWORD, not in a password= parameter"
    return 0
}

# is_true NAME: whether the variable NAME says true; unset is false.
is_true() {
    local value=${!1:-}
    case "${value,,}" in
        true | 1 | yes | on) return 0 ;;
        false | 0 | no | off | "") return 1 ;;
        *) die "$1 must be true or false, got '$value'" ;;
    esac
}

# Sets AWS_CLI to the aws command with the endpoint, and maps the SPOKE_S3_*
# settings onto the variables the aws CLI reads (keys stay in the
# environment, never on a command line).
setup_aws_cli() {
    require_tool aws "for the bucket (install the AWS CLI or unset the bucket)"
    [[ -n ${SPOKE_S3_ACCESS_KEY:-} ]] && export AWS_ACCESS_KEY_ID=$SPOKE_S3_ACCESS_KEY
    [[ -n ${SPOKE_S3_SECRET_KEY:-} ]] && export AWS_SECRET_ACCESS_KEY=$SPOKE_S3_SECRET_KEY
    export AWS_DEFAULT_REGION=${SPOKE_S3_REGION:-${AWS_DEFAULT_REGION:-us-east-1}}
    AWS_CLI=(aws)
    [[ -n ${SPOKE_S3_ENDPOINT:-} ]] && AWS_CLI+=(--endpoint-url "$SPOKE_S3_ENDPOINT")
    if is_true SPOKE_S3_FORCE_PATH_STYLE || is_true SPOKE_S3_USE_PATH_STYLE; then
        # The aws CLI takes the addressing style only from a config file.
        AWS_CONFIG_FILE=$(mktemp)
        export AWS_CONFIG_FILE
        printf '[default]\ns3 =\n    addressing_style = path\n' >"$AWS_CONFIG_FILE"
        CLEANUP_FILES+=("$AWS_CONFIG_FILE")
    fi
    return 0
}

# Files to remove however the script exits.
CLEANUP_FILES=()
cleanup() {
    if ((${#CLEANUP_FILES[@]} > 0)); then
        rm -f -- "${CLEANUP_FILES[@]}"
    fi
}
trap cleanup EXIT
