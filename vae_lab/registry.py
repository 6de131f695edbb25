"""What the kinds' and the data sets' registries share: entries by name, in the order they were added."""
from __future__ import annotations

import re
from typing import Generic, Protocol, TypeVar


class Named(Protocol):
    name: str
    label: str


T = TypeVar("T", bound=Named)


class Registry(Generic[T]):
    def __init__(self, what: str):
        self.what = what  # "kind", "dataset": how errors name an entry
        self._entries: dict[str, T] = {}

    def add(self, entry: T) -> T:
        """Add `entry`, or replace the one of its name."""
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", entry.name):
            raise ValueError(f"a {self.what}'s name uses lower-case letters, digits and '-', got {entry.name!r}")
        self._entries[entry.name] = entry
        return entry

    def remove(self, name: str) -> None:
        self._entries.pop(name, None)

    def get(self, name: str) -> T:
        if name not in self._entries:
            raise ValueError(f"unknown {self.what} {name!r}: choose one of {', '.join(self._entries)}")
        return self._entries[name]

    def __contains__(self, name: str) -> bool:
        return name in self._entries

    def values(self) -> tuple[T, ...]:
        return tuple(self._entries.values())

    def names(self) -> tuple[str, ...]:
        return tuple(self._entries)

    def label(self, name: str) -> str:
        """What the pages call an entry; the name itself for one this installation does not know."""
        return self._entries[name].label if name in self._entries else name

    def order(self, name: str) -> int:
        """A sort key in the order the entries were added, unknown ones last."""
        return list(self._entries).index(name) if name in self._entries else len(self._entries)
