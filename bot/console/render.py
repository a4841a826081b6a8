"""Block Kit to the terminal: what Slack would show, drawn with rich.

Pure functions from Block Kit dicts (a :class:`~bot.messages.blocks.Message`, a ``response_url`` post, a
view) to rich renderables. Slack's mrkdwn becomes styled text (``*bold*``, ``_italic_``, ``~strike~``,
`` `code` ``, links, mentions, dates, emoji shortcodes), fields become a two-column grid, and every
interactive element (buttons, select options) becomes a numbered choice, returned with the action it
stands for, so the console can send the same ``block_actions`` payload Slack would.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rich.console import Group, RenderableType
from rich.emoji import Emoji
from rich.rule import Rule
from rich.style import Style
from rich.table import Table
from rich.text import Text

from bot.messages.message import Message

# Slack names rich's emoji table lacks (rich follows the older cheat sheet).
SLACK_EMOJI: dict[str, str] = {
    "large_green_circle": "🟢",
    "large_yellow_circle": "🟡",
    "large_orange_circle": "🟠",
    "large_blue_circle": "🔵",
    "large_purple_circle": "🟣",
    "large_red_circle": "🔴",
    "white_check_mark": "✅",
    "heavy_check_mark": "✔",
    "warning": "⚠️",
    "no_entry": "⛔",
    "hourglass_flowing_sand": "⏳",
    "thumbsup": "👍",
    "+1": "👍",
}
_SHORTCODE = re.compile(r":([a-z0-9_+-]+):")
_INLINE = re.compile(
    r"```(?P<block>[\s\S]+?)```"
    r"|`(?P<code>[^`\n]+)`"
    r"|<(?P<angle>[^<>\n]+)>"
    r"|(?<![\w*])\*(?=\S)(?P<bold>[^*\n]+?)(?<=\S)\*(?![\w*])"
    r"|(?<![\w_])_(?=\S)(?P<italic>[^_\n]+?)(?<=\S)_(?![\w_])"
    r"|(?<![\w~])~(?=\S)(?P<strike>[^~\n]+?)(?<=\S)~(?![\w~])"
)
BUTTON_STYLES = {"primary": "bold green", "danger": "bold red"}
CODE_STYLE = "cyan"
MENTION_STYLE = "bold cyan"
CONTEXT_STYLE = "dim"


@dataclass(frozen=True)
class Choice:
    """One numbered choice standing for a button or a select option: what clicking it would send."""

    number: int
    label: str
    action_id: str
    block_id: str | None
    kind: str  # button | static_select | overflow | radio_buttons
    value: str | None = None
    option_text: str | None = None
    style: str | None = None
    url: str | None = None

    def action(self) -> dict[str, Any]:
        """The ``actions[0]`` entry of the ``block_actions`` payload Slack would send for this click."""
        action: dict[str, Any] = {"action_id": self.action_id, "type": self.kind}
        if self.block_id is not None:
            action["block_id"] = self.block_id
        if self.kind == "button":
            action["text"] = {"type": "plain_text", "text": self.label, "emoji": True}
            if self.value is not None:
                action["value"] = self.value
        else:
            action["selected_option"] = {
                "text": {"type": "plain_text", "text": self.option_text or self.label, "emoji": True},
                "value": self.value or "",
            }
        return action


@dataclass
class Rendered:
    """What one message or view looks like in the terminal, and the choices it offers."""

    renderables: list[RenderableType] = field(default_factory=list)
    choices: list[Choice] = field(default_factory=list)

    def __rich__(self) -> Group:
        return Group(*self.renderables)


class BlockRenderer:
    """Renders Block Kit; ``mentions`` and ``channels`` name the ids it knows (``<@U1>`` → ``@you``)."""

    def __init__(
        self, *, mentions: Mapping[str, str] | None = None, channels: Mapping[str, str] | None = None
    ) -> None:
        self._mentions = dict(mentions or {})
        self._channels = dict(channels or {})

    # ----- text ----------------------------------------------------------------------------------

    def mrkdwn(self, text: str, style: str | Style = "") -> Text:
        """Slack mrkdwn as styled text; what is not markup is shown as typed, unescaped."""
        out = Text(style=style)
        self._inline(text, out, "")
        return out

    def plain(self, text: str, style: str | Style = "") -> Text:
        """A ``plain_text`` object: no markup, but emoji shortcodes become emoji as in Slack."""
        return Text(emoji(html.unescape(text)), style=style)

    def text_object(self, obj: Any, style: str | Style = "") -> Text:
        if not isinstance(obj, Mapping):
            return Text(str(obj or ""), style=style)
        raw = str(obj.get("text") or "")
        return self.mrkdwn(raw, style) if obj.get("type") == "mrkdwn" else self.plain(raw, style)

    def _inline(self, text: str, out: Text, style: str) -> None:
        position = 0
        for match in _INLINE.finditer(text):
            if match.start() > position:
                out.append(emoji(html.unescape(text[position : match.start()])), style=style or None)
            kind = match.lastgroup
            inner = match.group(kind or 0)
            if kind == "block":
                out.append(html.unescape(inner.strip("\n")), style=_join(style, CODE_STYLE))
            elif kind == "code":
                out.append(html.unescape(inner), style=_join(style, CODE_STYLE))
            elif kind == "angle":
                self._angle(inner, out, style)
            elif kind == "bold":
                self._inline(inner, out, _join(style, "bold"))
            elif kind == "italic":
                self._inline(inner, out, _join(style, "italic"))
            elif kind == "strike":
                self._inline(inner, out, _join(style, "strike"))
            position = match.end()
        if position < len(text):
            out.append(emoji(html.unescape(text[position:])), style=style or None)

    def _angle(self, inner: str, out: Text, style: str) -> None:
        """``<…>``: a mention, a channel, a special (date, @here) or a link."""
        target, _, label = inner.partition("|")
        if target.startswith("@"):
            user = target[1:]
            out.append("@" + (self._mentions.get(user) or label or user), style=_join(style, MENTION_STYLE))
        elif target.startswith("#"):
            channel = target[1:]
            out.append(
                "#" + (self._channels.get(channel) or label or channel), style=_join(style, MENTION_STYLE)
            )
        elif target.startswith("!"):
            out.append(_special(target[1:], label), style=style or None)
        else:
            url = html.unescape(target)
            shown = html.unescape(label) if label else url.removeprefix("mailto:")
            out.append(emoji(shown), style=Style.parse(_join(style, "underline")) + Style(link=url))
            if label and url.startswith(("http://", "https://")) and shown != url:
                out.append(f" ({url})", style=_join(style, CONTEXT_STYLE))

    # ----- blocks -------------------------------------------------------------------------------

    def blocks(self, blocks: Iterable[Mapping[str, Any]], *, first_number: int = 1) -> Rendered:
        """Every block in order; interactive elements are numbered from ``first_number``."""
        rendered = Rendered()
        numbers = _Counter(first_number)
        previous: str | None = None
        for block in blocks:
            kind = str(block.get("type") or "")
            if previous in ("section", "input", "image") and kind in ("section", "header", "input", "image"):
                rendered.renderables.append(Text(""))
            rendered.renderables.extend(self._block(block, rendered.choices, numbers))
            previous = kind
        return rendered

    def message(self, message: Message | Mapping[str, Any], *, first_number: int = 1) -> Rendered:
        """A message (our :class:`Message`, or a posted payload with ``text`` and ``blocks``)."""
        if isinstance(message, Message):
            text, blocks = message.text, message.blocks
        else:
            text, blocks = str(message.get("text") or ""), list(message.get("blocks") or [])
        if not blocks:
            return Rendered([self.mrkdwn(text)])
        return self.blocks(blocks, first_number=first_number)

    def view(self, view: Mapping[str, Any], *, first_number: int = 1) -> Rendered:
        """A modal or the App Home: its title as a header, then its blocks."""
        rendered = self.blocks(list(view.get("blocks") or []), first_number=first_number)
        title = view.get("title")
        if title:
            rendered.renderables.insert(0, _rule(self.text_object(title, "bold")))
        return rendered

    def _block(
        self, block: Mapping[str, Any], choices: list[Choice], numbers: _Counter
    ) -> list[RenderableType]:
        kind = block.get("type")
        block_id = block.get("block_id")
        if kind == "header":
            return [_rule(self.text_object(block.get("text"), "bold"))]
        if kind == "divider":
            return [Rule(style="dim")]
        if kind == "section":
            return self._section(block, choices, numbers)
        if kind == "context":
            parts = [self._context_element(element) for element in block.get("elements") or []]
            return [Text("  ·  ", style=CONTEXT_STYLE).join(parts)] if parts else []
        if kind == "actions":
            line = Text()
            for element in block.get("elements") or []:
                for choice in self._element_choices(element, block_id, numbers):
                    choices.append(choice)
                    if line:
                        line.append("   ")
                    line.append_text(_choice_text(choice))
            return [line] if line else []
        if kind == "image":
            return [Text(f"(image: {_image_target(block)})", style=CONTEXT_STYLE)]
        if kind == "input":
            return [self._input(block)]
        if kind == "rich_text":
            return [Text(_rich_text_plain(block))]
        if kind == "table":
            return [_table(block)]
        return [Text(f"(a {kind or 'unknown'} block)", style=CONTEXT_STYLE)]

    def _section(
        self, block: Mapping[str, Any], choices: list[Choice], numbers: _Counter
    ) -> list[RenderableType]:
        out: list[RenderableType] = []
        if block.get("text"):
            out.append(self.text_object(block["text"]))
        items = [self.text_object(item) for item in block.get("fields") or []]
        if items:
            grid = Table.grid(padding=(0, 4))
            grid.add_column(vertical="top")
            grid.add_column(vertical="top")
            for index in range(0, len(items), 2):
                grid.add_row(*items[index : index + 2])
            out.append(grid)
        accessory = block.get("accessory")
        if isinstance(accessory, Mapping):
            if accessory.get("type") == "image":
                out.append(Text(f"(image: {_image_target(accessory)})", style=CONTEXT_STYLE))
            else:
                line = Text()
                for choice in self._element_choices(accessory, block.get("block_id"), numbers):
                    choices.append(choice)
                    if line:
                        line.append("   ")
                    line.append_text(_choice_text(choice))
                if line:
                    out.append(line)
        return out

    def _context_element(self, element: Mapping[str, Any]) -> Text:
        if element.get("type") == "image":
            return Text(f"(image: {element.get('alt_text') or element.get('image_url') or ''})")
        return self.text_object(element, CONTEXT_STYLE)

    def _element_choices(self, element: Mapping[str, Any], block_id: Any, numbers: _Counter) -> list[Choice]:
        kind = str(element.get("type") or "")
        action_id = str(element.get("action_id") or "")
        block = str(block_id) if block_id is not None else None
        if kind == "button":
            label = self.text_object(element.get("text")).plain
            return [
                Choice(
                    numbers.next(),
                    label,
                    action_id,
                    block,
                    "button",
                    value=element.get("value"),
                    style=element.get("style"),
                    url=element.get("url"),
                )
            ]
        if kind in ("static_select", "overflow", "radio_buttons"):
            prompt = self.text_object(element.get("placeholder")).plain if element.get("placeholder") else ""
            found = []
            for option in _options(element):
                text = self.text_object(option.get("text")).plain
                label = f"{prompt}: {text}" if prompt else text
                found.append(
                    Choice(
                        numbers.next(),
                        label,
                        action_id,
                        block,
                        kind,
                        value=option.get("value"),
                        option_text=text,
                    )
                )
            return found
        return []

    def _input(self, block: Mapping[str, Any]) -> Text:
        label = self.text_object(block.get("label"), "bold")
        if block.get("optional"):
            label.append(" (optional)", style=CONTEXT_STYLE)
        element = block.get("element") or {}
        initial = element.get("initial_value")
        placeholder = element.get("placeholder")
        label.append(": ")
        if initial:
            label.append(str(initial))
        elif placeholder:
            label.append_text(self.text_object(placeholder, CONTEXT_STYLE))
        return label


def emoji(text: str) -> str:
    """Replace the shortcodes Slack would draw as emoji; unknown ones (and ``09:12:30``) stay as typed."""
    if ":" not in text:
        return text

    def swap(match: re.Match[str]) -> str:
        name = match.group(1)
        known = SLACK_EMOJI.get(name)
        if known is not None:
            return known
        return Emoji.replace(match.group(0))

    return _SHORTCODE.sub(swap, text)


class _Counter:
    def __init__(self, first: int) -> None:
        self._next = first

    def next(self) -> int:
        number = self._next
        self._next += 1
        return number


def _join(*styles: str) -> str:
    return " ".join(style for style in styles if style)


def _rule(title: Text) -> Rule:
    return Rule(title, align="left", style="cyan")


def _choice_text(choice: Choice) -> Text:
    text = Text(f"[{choice.number}] ", style="bold")
    text.append(choice.label, style=BUTTON_STYLES.get(choice.style or "", "bold"))
    if choice.url:
        text.append(f" → {choice.url}", style=CONTEXT_STYLE)
    return text


def _special(command: str, label: str) -> str:
    """``<!date^…|fallback>``, ``<!here>``, ``<!subteam^ID|@team>``: what Slack would show."""
    if label:
        return html.unescape(label)
    name = command.split("^", 1)[0]
    return f"@{name}"


def _image_target(block: Mapping[str, Any]) -> str:
    source = block.get("image_url")
    slack_file = block.get("slack_file")
    if not source and isinstance(slack_file, Mapping):
        source = slack_file.get("url") or slack_file.get("id")
    title = block.get("title")
    name = title.get("text") if isinstance(title, Mapping) else None
    alt = name or block.get("alt_text") or ""
    return f"{alt}: {source}" if alt and source else str(alt or source or "")


def _options(element: Mapping[str, Any]) -> Sequence[Mapping[str, Any]]:
    options = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        options.extend(group.get("options") or [])
    return [option for option in options if isinstance(option, Mapping)]


def _rich_text_plain(node: Any) -> str:
    if isinstance(node, Mapping):
        if node.get("type") == "text":
            return str(node.get("text") or "")
        return "".join(_rich_text_plain(child) for child in node.get("elements") or [])
    if isinstance(node, list):
        return "".join(_rich_text_plain(child) for child in node)
    return ""


def _table(block: Mapping[str, Any]) -> Table:
    """A table block as a rich table: its first row as the header, its column alignments kept."""
    rows = [
        [str(cell.get("text") or _rich_text_plain(cell)) if isinstance(cell, Mapping) else "" for cell in row]
        for row in block.get("rows") or []
    ]
    settings = list(block.get("column_settings") or [])
    drawn = Table(show_edge=False, pad_edge=False, header_style="bold")
    for index, title in enumerate(rows[0] if rows else []):
        setting = settings[index] if index < len(settings) and isinstance(settings[index], Mapping) else {}
        drawn.add_column(title, justify=setting.get("align", "left"))
    for row in rows[1:]:
        drawn.add_row(*row)
    return drawn
