"""Text that cannot be stored or sent: lone UTF-16 surrogates (issue 9, item 9).

A lone surrogate (half of a character, ``\\ud800``-``\\udfff``) can be neither stored faithfully
nor sent back as UTF-8. The readers of every door refuse one (``http.problems``), and
``salesrefund check`` looks for one kept escaped in stored JSON (``store.checks``).
"""

from __future__ import annotations

import re

SURROGATE = re.compile("[\ud800-\udfff]")


def has_lone_surrogate(text: str) -> bool:
    return bool(SURROGATE.search(text))


def lone_surrogate_at(value, pointer: str = "") -> str | None:
    """The JSON pointer of the first string holding a lone surrogate in a decoded document (dicts,
    lists, strings), or None. A key holding one is reported as its object (a pointer naming the
    key could not itself be written out).

    ``lone_surrogate_at({"a": ["ok", "\\ud800"]})`` is ``"/a/1"``."""
    stack = [(value, pointer)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, str):
            if SURROGATE.search(item):
                return where or "/"
        elif isinstance(item, dict):
            for key, child in reversed(list(item.items())):
                if isinstance(key, str) and SURROGATE.search(key):
                    return where or "/"
                stack.append((child, f"{where}/{pointer_escape(str(key))}"))
        elif isinstance(item, (list, tuple)):
            stack.extend((child, f"{where}/{i}") for i, child in reversed(list(enumerate(item))))
    return None


def pointer_escape(key: str) -> str:
    """A key as a JSON pointer's reference token (RFC 6901: ``~`` as ``~0``, ``/`` as ``~1``)."""
    return key.replace("~", "~0").replace("/", "~1")
