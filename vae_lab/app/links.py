"""A view you can share: the widgets' state in the page's URL.

A shareable widget is made with `widget(st.selectbox, ..., key=...)`, which seeds it: on a session's
first run it takes its value from the link the session was opened with, if the value is still valid
here (a model that no longer exists, an index out of range: the default, and a short notice). A
value that is not a widget's (the digits' seed, the latent pad's point) calls `seed(key, ...)`.
After every run `publish()` writes the tracked widgets' values back into the URL, so
the address bar (and the sidebar's "Link to this view") always reopens what is on the screen.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Collection
from typing import Any
from urllib.parse import urlencode

import streamlit as st

_OPENED_WITH = "_links_opened_with"  # the query parameters the session started with, consumed by seed()
_TRACKED = "_links_tracked"  # widget key -> its encoder, for this run
_NOTICES = "_links_notices"
MAX_VALUE_CHARS = 1000  # a link's value longer than this is refused before it is parsed


def begin() -> None:
    """Before the sidebar and the page: track only what this run shows."""
    st.session_state[_TRACKED] = set()


def flag(text: str) -> bool:
    if text not in ("True", "False"):
        raise ValueError(text)
    return text == "True"


def floats(text: str) -> list[float]:
    """Finite numbers only: nan, inf or 1e309 would reach a widget or the browser's JSON as non-numbers."""
    values = [float(part) for part in text.split(",")]
    if not all(math.isfinite(v) for v in values):
        raise ValueError(f"not all finite: {text}")
    return values


def names(text: str) -> list[str]:
    return [part for part in text.split(",") if part]


def shown(text: Any, *, limit: int = 60) -> str:
    """A value a visitor chose (from a link, a file's name) for markdown: as inline code, so it shows as typed and
    is never rendered (no image fetched, no link, no colour), on one line, cut to `limit` characters."""
    text = "".join(c if c.isprintable() else "?" for c in str(text)).replace("`", "'")
    return f"`{text if len(text) <= limit else text[:limit - 1] + '…'}`"


def encode(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return ",".join(encode(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def seed(key: str, *, parse: Callable[[str], Any] = str, options: Collection | None = None,
         what: str = "") -> None:
    """Before creating the widget `key`: on the session's first run, set it from the link if valid,
    and put it in the URL from now on. `options`: the values allowed (every item, for a list, and each once)."""
    st.session_state.setdefault(_TRACKED, set()).add(key)
    opened_with = st.session_state.setdefault(_OPENED_WITH, st.query_params.to_dict())
    text = opened_with.pop(key, None)
    if text is None:
        return
    try:
        value = parse(text) if len(text) <= MAX_VALUE_CHARS else None
    except ValueError:  # also a number of more than Python's 4,300 digits
        value = None
    items = value if isinstance(value, list) else [value]
    if value is None or (options is not None and (not all(item in options for item in items)
                                                  or len(set(items)) < len(items))):  # a model twice: twice its widgets
        st.session_state.setdefault(_NOTICES, []).append(
            f"The link's {what or key} ({shown(text)}) is not available here, so the default is shown.")
        return
    st.session_state[key] = value


def widget(make: Callable[..., Any], *args, key: str, parse: Callable[[str], Any] = str,
           options: Collection | None = None, what: str = "", **kwargs) -> Any:
    """`make(*args, key=key, **kwargs)`: a Streamlit widget (st.radio, a column's slider, ...) whose value travels
    in the page's link, seeded from it first (see `seed`, for `parse`, `options` and `what`)."""
    seed(key, parse=parse, options=options, what=what)
    return make(*args, key=key, **kwargs)


def current() -> dict[str, str]:
    """The tracked widgets' values, as the URL's query parameters."""
    tracked = st.session_state.get(_TRACKED, set())
    return {key: encode(st.session_state[key]) for key in sorted(tracked) if key in st.session_state}


def publish() -> None:
    """After the page has run: the URL shows this view; notices about the link, once."""
    params = current()
    if st.query_params.to_dict() != params:
        st.query_params.from_dict(params)
    for notice in st.session_state.pop(_NOTICES, []):
        st.toast(notice, icon=":material/link_off:")


def link_control() -> None:
    """The sidebar's "Link to this view": the address, with a copy button (st.code's)."""
    base = st.context.url or ""
    with st.sidebar.expander("Link to this view", icon=":material/link:"):
        st.code(f"{base}?{urlencode(current())}", language=None, wrap_lines=True)
        st.caption("Copy it (the button at its right) to reopen this page as it is now, in any browser.")
