"""The HTTP edge of ``POST /slack/events``: size, signature and shape, checked before Bolt sees a byte.

Bolt's Starlette adapter parses a body before it checks the signature, so a malformed body used to
end in a 500 with a traceback, and its own verification logged every refused request whole. Here, in
this order:

1. a body over :data:`MAX_BODY_BYTES` is refused with 413, by its ``Content-Length`` before anything is
   read, and by counting while it streams (a chunked body has no length);
2. the signature (``v0`` HMAC of ``v0:timestamp:body``, timestamp within five minutes) is checked on the
   raw bytes: a missing or non-numeric timestamp or a wrong signature is 401;
3. the body must be what Slack sends: UTF-8, a JSON object, or a form whose ``payload`` is a JSON
   object, and the parts Bolt indexes by shape (``event``, ``actions``, ``view``, ``user``...) of the
   types Slack gives them (:func:`misshapen_part`); anything else is 400.

A client that disconnects before its declared ``Content-Length`` has arrived is refused too (400, an
answer nobody reads) instead of ending in an ASGI error.

A refusal is logged at INFO as one short line (reason and size), never with the body or header values.
Bolt's own verification is turned off (``bot.app.create_app``): this is the one place that verifies.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from slack_bolt.request.async_request import AsyncBoltRequest
from starlette.requests import ClientDisconnect, Request

from bot.domain.errors import SpendbotError

MAX_BODY_BYTES = 1024 * 1024
"""Slack's requests are a few kB; a view submission with every field full stays far below 1 MiB."""
MAX_CLOCK_SKEW = 300
"""Seconds a request's timestamp may differ from our clock (Slack's recommendation: five minutes)."""
_FORM = "application/x-www-form-urlencoded"
_JSON = "application/json"


@dataclass
class Refused(SpendbotError):
    """A request the edge answers itself: ``status`` and a short reason, safe to log and to send back."""

    status: int
    reason: str


async def read_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The whole body, or :class:`Refused` (413) as soon as it is known to exceed ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not (declared.isascii() and declared.isdigit()):
            raise Refused(400, "malformed Content-Length")
        if int(declared) > limit:
            raise Refused(413, f"body over {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise Refused(413, f"body over {limit} bytes")
            chunks.append(chunk)
    except ClientDisconnect:
        raise Refused(400, "client disconnected before its body was complete") from None
    return b"".join(chunks)


class SlackSignature:
    """Checks Slack's request signature (``v0``, HMAC-SHA256) with the signing secret."""

    def __init__(self, signing_secret: str) -> None:
        self._secret = signing_secret

    def check(self, timestamp: str | None, signature: str | None, body: bytes) -> None:
        if not timestamp or not signature:
            raise Refused(401, "unsigned request")
        if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
            raise Refused(401, "malformed timestamp")
        if abs(time.time() - int(timestamp)) > MAX_CLOCK_SKEW:
            raise Refused(401, "stale or future timestamp")
        basestring = b"v0:" + timestamp.encode() + b":" + body  # raw bytes: the body may not be UTF-8
        expected = "v0=" + hmac.new(self._secret.encode(), basestring, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace")):
            raise Refused(401, "invalid signature")


def bolt_request(request: Request, body: bytes) -> AsyncBoltRequest:
    """The verified body as Bolt's request, or :class:`Refused` (400) when it is not shaped like Slack's."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused(400, "body is not UTF-8") from None
    if not text:
        raise Refused(400, "empty body")
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type == _FORM and not text.startswith("{"):
        try:
            fields = dict(parse_qsl(text, keep_blank_values=True, strict_parsing=True))
        except ValueError:
            raise Refused(400, "body is not a form") from None
        parsed = _json_object(fields["payload"], "payload") if "payload" in fields else fields
    elif content_type == _JSON or text.startswith("{"):
        parsed = _json_object(text, "body")
    else:
        raise Refused(400, "unsupported content type")
    part = misshapen_part(parsed)
    if part is not None:
        raise Refused(400, f"{part} not shaped like Slack's")
    try:
        return AsyncBoltRequest(body=text, query=request.query_params, headers=request.headers)  # type: ignore[arg-type]
    except (ValueError, TypeError, AttributeError, KeyError, IndexError, RecursionError):
        # Bolt reads ids out of the payload as it builds its context; a payload whose parts have the
        # wrong types (a list where an object belongs) stops it here.
        raise Refused(400, "payload not shaped like Slack's") from None


def _json_object(text: str, what: str) -> dict[str, Any]:
    try:
        parsed = json.loads(text)
    except (ValueError, RecursionError):
        raise Refused(400, f"{what} is not JSON") from None
    if not isinstance(parsed, dict):
        raise Refused(400, f"{what} is not a JSON object")
    return parsed


_OBJECTS = ("user", "channel", "container", "message", "state", "workflow_step", "response_urls")
"""Top-level parts that are objects whenever Slack sends them (``team``/``enterprise`` may be an id
string or null, which the gate checks); ``response_urls`` is a list, checked on its own."""


def misshapen_part(payload: dict[str, Any]) -> str | None:
    """The first part of a verified payload that Bolt would index but is not of Slack's type, else None.

    Bolt reads ``body["actions"][0]``, ``body["view"]["type"]``, ``body["event"].get(...)`` in its own
    middleware, before any of ours runs, so a list where Slack puts an object ended in a 500 with a
    traceback. Only the structure is checked here; ids are the gate's (``bot.slack.gate``).
    """
    for name in _OBJECTS:
        value = payload.get(name)
        expected = list if name == "response_urls" else dict
        if value is not None and not isinstance(value, expected):
            return name
    for name in ("type", "command", "text", "callback_id", "trigger_id", "response_url"):
        if payload.get(name) is not None and not isinstance(payload[name], str):
            return name
    if payload.get("response_url") is not None and not payload["response_url"].startswith(_URL_SCHEMES):
        return "response_url"
    if "event" in payload:
        event = payload["event"]
        if not isinstance(event, dict) or not isinstance(event.get("type", ""), str):
            return "event"
        if any(event.get(key) is not None and not isinstance(event[key], dict) for key in _EVENT_OBJECTS):
            return "event"
    if "actions" in payload:
        actions = payload["actions"]
        if not isinstance(actions, list) or not actions or not all(isinstance(a, dict) for a in actions):
            return "actions"
        if any(not isinstance(action.get("action_id"), str) for action in actions):
            return "actions"
        if any(not isinstance(action.get(key, ""), str) for action in actions for key in _ACTION_STRINGS):
            return "actions"
    if "view" in payload:
        view = payload["view"]
        if not isinstance(view, dict) or not isinstance(view.get("type"), str):
            return "view"
        if not isinstance(view.get("callback_id", ""), str) or not isinstance(view.get("state", {}), dict):
            return "view"
        if not isinstance(view.get("state", {}).get("values", {}), dict):
            return "view"
    return None


_URL_SCHEMES = ("https://", "http://")
_EVENT_OBJECTS = ("message", "previous_message", "view", "workflow_step")
_ACTION_STRINGS = ("action_id", "block_id", "type", "value")
