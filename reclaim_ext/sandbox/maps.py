"""BPF-style maps: the only state a sandboxed policy keeps between calls.

A policy declares each map at the top of its file with its size
(``HOT = LruHashMap(4096)``), as a BPF program declares its maps in a
``.maps`` section; the verifier checks the declaration, and each instance
of a loaded policy gets fresh maps (one per simulated machine).

The maps behave like the kernel's, not like Python dicts:

- ``lookup(key, default=None)`` returns the value or `default` (BPF
  returns NULL); a key of the wrong type is simply not found.
- ``update(key, value)`` and ``delete(key)`` return 0 or a negative errno
  from surface.ERRNO. They never raise on bad data: a helper that raised
  would eject the policy, and a full map is not misbehaviour.
- Sizes are fixed. A full HashMap refuses a new key (E2BIG); an LruHashMap
  evicts its least recently used entry instead (lookup and update both
  count as a use); an ArrayMap has every index 0..max_entries-1 from the
  start, all 0, and none can be deleted (EINVAL).

Keys are an int or a tuple of up to 4 ints; values an int, float or bool or
a tuple of up to 8 of those. Ints must fit in 64 bits (|x| < 2**64), the
sandbox's integer limit; numpy scalars are converted to Python's. Anything
else is EINVAL: a map holds no reference to a list, an array or an object
of the core, so nothing a policy stores can alias or grow behind its back.

Entries live in plain dicts (an OrderedDict for the LRU order): a lookup
with an int key costs one type check and one dict probe.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

from reclaim_ext.sandbox.surface import ERRNO, INT_LIMIT, MAX_MAP_ENTRIES

ENOENT = ERRNO["ENOENT"]
E2BIG = ERRNO["E2BIG"]
EINVAL = ERRNO["EINVAL"]

MAX_KEY_INTS = 4
MAX_VALUE_ITEMS = 8

# numpy scalars a policy meets in arrays the helpers return
NUMPY_INTS = frozenset((np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64))
NUMPY_FLOATS = frozenset((np.float16, np.float32, np.float64))


def _int(x: object) -> int | None:
    """x as a Python int within the integer limit, or None."""
    t = type(x)
    if t is int:
        return x if -INT_LIMIT < x < INT_LIMIT else None
    if t in NUMPY_INTS or t is bool:
        return int(x)
    return None


def _scalar(x: object) -> int | float | bool | None:
    """x as a value a map may hold (int, float or bool), or None."""
    t = type(x)
    if t is float or t is bool:
        return x
    if t in NUMPY_FLOATS:
        return float(x)
    if t is np.bool_:
        return bool(x)
    return _int(x)


def map_key(key: object) -> int | tuple[int, ...] | None:
    """The normalised key, or None if `key` is not one."""
    if type(key) is int and -INT_LIMIT < key < INT_LIMIT:
        return key
    if type(key) is tuple:
        if len(key) > MAX_KEY_INTS:
            return None
        ints = tuple(_int(k) for k in key)
        return None if None in ints else ints
    return _int(key)


def map_value(value: object) -> int | float | bool | tuple | None:
    """The normalised value, or None if `value` is not one."""
    if type(value) is tuple:
        if len(value) > MAX_VALUE_ITEMS:
            return None
        items = tuple(_scalar(v) for v in value)
        return None if any(v is None for v in items) else items
    return _scalar(value)


class _Map:
    """What every map kind shares: the size, the entries, the dump."""

    kind = "map"

    def __init__(self, max_entries: int) -> None:
        if type(max_entries) is not int or not 1 <= max_entries <= MAX_MAP_ENTRIES:
            raise ValueError(f"{type(self).__name__}: max_entries must be an int in 1..{MAX_MAP_ENTRIES}, not {max_entries!r}")
        self.max_entries = max_entries
        self._entries: dict = {}

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.max_entries}) with {len(self)} entries"

    def occupancy(self) -> tuple[int, int]:
        """(entries in use, max_entries), for dumps."""
        return len(self), self.max_entries


class HashMap(_Map):
    """BPF_MAP_TYPE_HASH: a new key is refused with E2BIG when full."""

    def lookup(self, key: object, default: object = None) -> object:
        if type(key) is not int:
            key = map_key(key)
            if key is None:
                return default
        return self._entries.get(key, default)

    def update(self, key: object, value: object) -> int:
        key, value = map_key(key), map_value(value)
        if key is None or value is None:
            return EINVAL
        entries = self._entries
        if key not in entries and len(entries) >= self.max_entries:
            return E2BIG
        entries[key] = value
        return 0

    def delete(self, key: object) -> int:
        key = map_key(key)
        if key is None or key not in self._entries:
            return ENOENT
        del self._entries[key]
        return 0


class LruHashMap(HashMap):
    """BPF_MAP_TYPE_LRU_HASH: when full, a new key evicts the least
    recently used entry. Lookup and update both make an entry the most
    recently used."""

    def __init__(self, max_entries: int) -> None:
        super().__init__(max_entries)
        self._entries: OrderedDict = OrderedDict()

    def lookup(self, key: object, default: object = None) -> object:
        if type(key) is not int:
            key = map_key(key)
            if key is None:
                return default
        entries = self._entries
        if key not in entries:
            return default
        entries.move_to_end(key)
        return entries[key]

    def update(self, key: object, value: object) -> int:
        key, value = map_key(key), map_value(value)
        if key is None or value is None:
            return EINVAL
        entries = self._entries
        if key in entries:
            entries.move_to_end(key)
        elif len(entries) >= self.max_entries:
            entries.popitem(last=False)
        entries[key] = value
        return 0


class ArrayMap(_Map):
    """BPF_MAP_TYPE_ARRAY: indices 0..max_entries-1, every one present and
    0 until updated. Entries are stored only once written, so a large array
    costs nothing until used; its length is always max_entries."""

    def __len__(self) -> int:
        return self.max_entries

    def lookup(self, key: object, default: object = None) -> object:
        if type(key) is not int:
            key = _int(key)
            if key is None:
                return default
        if not 0 <= key < self.max_entries:
            return default
        return self._entries.get(key, 0)

    def update(self, key: object, value: object) -> int:
        key, value = _int(key), map_value(value)
        if key is None or value is None:
            return EINVAL
        if not 0 <= key < self.max_entries:
            return E2BIG
        self._entries[key] = value
        return 0

    def delete(self, key: object) -> int:
        """Array entries cannot be deleted (the kernel says EINVAL)."""
        return EINVAL


MAP_TYPES: dict[str, type[_Map]] = {"HashMap": HashMap, "LruHashMap": LruHashMap, "ArrayMap": ArrayMap}
