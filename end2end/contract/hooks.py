"""Rules of the /v1 API that a JSON schema cannot state, applied to the requests schemathesis generates, so
that a "valid" request is one the documentation calls valid. Each rule here is also in the OpenAPI
description of its field:

- expires_at: in the future, no later than 9999-12-31;
- since/until on /v1/keys/{id}/usage: since <= until, at most 31 days of hours apart (400 days by day);
- meta: at most 4 KiB once serialised.
"""

import json
from datetime import datetime, timedelta, timezone

import schemathesis

FUTURE = "2099-01-01T00:00:00Z"
EARLIEST = datetime(1970, 1, 1, tzinfo=timezone.utc)
LATEST = datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone.utc)


def _instant(text):
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None


def _in_range(at):
    try:
        return at is not None and at.tzinfo is not None and EARLIEST <= at <= LATEST
    except (OverflowError, ValueError):
        return False


def _fix_body(path, body):
    if not isinstance(body, dict) or not path.startswith("/v1/keys") or path.endswith("/verify"):
        return
    if body.get("expires_at") is not None:
        at = _instant(body["expires_at"])
        if not (_in_range(at) and at > datetime.now(timezone.utc)):
            body["expires_at"] = FUTURE
    if isinstance(body.get("meta"), dict) and len(json.dumps(body["meta"], ensure_ascii=False).encode()) > 4096:
        body["meta"] = {"plan": "pro"}


def _fix_query(path, query):
    if not isinstance(query, dict) or not path.endswith("/usage"):
        return
    # Python's datetime stops at year 1, where RFC 3339 (and the server) starts at year 0: an instant Python
    # cannot read or compare is left out, so that the rules below are never judged wrongly.
    for name in ("since", "until"):
        if name in query and not _comparable(_instant(query[name])):
            del query[name]
    since, until = _instant(query.get("since")), _instant(query.get("until"))
    span = timedelta(days=400 if query.get("granularity") == "day" else 31)
    if since is not None:
        end = until or datetime.now(timezone.utc)
        if since > end or end - since > span:
            query.pop("since")


def _comparable(at):
    try:
        return at is not None and at.tzinfo is not None and at.astimezone(timezone.utc) is not None
    except (OverflowError, ValueError):
        return False


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    """Runs before every request of every phase, so examples and boundary values obey the rules too."""
    path = case.operation.path
    _fix_body(path, case.body)
    _fix_query(path, case.query)
