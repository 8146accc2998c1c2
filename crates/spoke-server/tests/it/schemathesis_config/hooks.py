"""What the OpenAPI document cannot state, for schemathesis.

JSON Schema describes each value on its own; these rules tie values
together or look inside a server-issued token, so they are stated here, as
filters on the generated requests, in the terms the server enforces them
(the Rust code named beside each). A request they drop is one the server
refuses with 400 and the document says so in words.
"""

import base64
import re

import schemathesis

MODULE_NAME = re.compile(r"[a-z][a-z0-9._-]{0,127}")


def _cursor_text(token):
    """`Cursor::parse`: base64url without padding, of UTF-8 text."""
    if not re.fullmatch(r"[A-Za-z0-9_-]*", token) or len(token) % 4 == 1:
        return None
    try:
        return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None


def _version_pattern(document):
    """`VersionId::PATTERN`, as the document states it for versions."""
    push = document["components"]["schemas"]["PushRequest"]
    return re.compile(push["properties"]["version"]["pattern"])


def _cursor_fits(case, token):
    """`Cursor::module_name` for the module list, `Cursor::audit_seq` for
    the audit log, `Cursor::version_position` (push time in nanoseconds,
    then the version) for a version list."""
    text = _cursor_text(token)
    if text is None:
        return False
    if case.operation.path == "/modules":
        return text.startswith("m:") and MODULE_NAME.fullmatch(text[2:]) is not None
    if case.operation.path == "/api/v1/audit":
        return re.fullmatch(r"a:[0-9]{1,19}", text) is not None and int(text[2:]) < 2**64
    match = re.fullmatch(r"v:([0-9]{1,18}):(.{1,128})", text, re.DOTALL)
    version = _version_pattern(case.operation.schema.raw_schema)
    return match is not None and version.search(match.group(2)) is not None


def _distinct_paths(files):
    """`validate_files`: no file path, and no document, twice
    (DUPLICATE_PATH)."""
    paths = [f.get("path") for f in files if isinstance(f, dict)]
    return len(paths) == len(set(map(str, paths)))


@schemathesis.hook
def filter_case(ctx, case):
    # Invalid requests are meant to be refused: only valid ones are narrowed.
    if case.meta is not None and not case.meta.generation.mode.is_positive:
        return True
    query = case.query or {}
    cursor = query.get("cursor")
    if isinstance(cursor, str) and not _cursor_fits(case, cursor):
        return False
    body = case.body
    if isinstance(body, dict):
        # `convert::push_request` and `convert::compatibility_check`: a
        # body's module_name, when present, is the URL's (MODULE_MISMATCH).
        named = body.get("module_name")
        in_url = (case.path_parameters or {}).get("name")
        if isinstance(named, str) and in_url is not None and named != in_url:
            return False
        # A buf.yaml is a YAML document of its own, which the schema
        # describes only as text (INVALID_LINT_CONFIG otherwise).
        if body.get("buf_yaml") is not None:
            return False
        for listed in ("files", "documents"):
            entries = body.get(listed)
            if isinstance(entries, list) and not _distinct_paths(entries):
                return False
    return True


@schemathesis.hook
def map_case(ctx, case):
    # In a stateful sequence a check's `against` names a version no step
    # created, and the server's 404 (VERSION_NOT_FOUND) about that version
    # reads to schemathesis as the module just created gone missing. The
    # fuzzing and coverage phases still send `against`.
    stateful = case.meta is not None and case.meta.phase.name == "stateful"
    if stateful and isinstance(case.body, dict):
        case.body.pop("against", None)
    return case


@schemathesis.hook
def filter_failure(ctx, failure, case, response):
    # `DELETE /modules/{name}/compatibility` resets the module's policy to
    # the server's default; the policy in force is still there to read (200,
    # `"inherited": true`), as documented, not a deleted resource. It is the
    # API's only DELETE, and this its only read.
    reset_read = (
        case.operation.method.upper() == "GET"
        and case.operation.path == "/modules/{name}/compatibility"
        and response.status_code == 200
    )
    return not (reset_read and getattr(failure, "code", None) == "ST301")
