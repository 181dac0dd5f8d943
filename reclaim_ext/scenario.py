"""The scenario file: the machine, the processes that compete for its memory,
and how long to run them.

A scenario is TOML, checked by the pydantic models below, whose JSON schema
documents every key. Checking takes two passes. Pydantic checks each value
on its own: its type, unit and range, and that its key exists. Then Scenario
checks the relations between values (a process's node exists, a region fits
in its file, a pattern's parameters suit its kind); that pass sees the whole
scenario but still names the exact key at fault.

A Scenario holds what the user wrote: defaults that depend on the rest of
the scenario (min_free_kbytes, the distance matrix, the nodes of a bound
process, the size of a file no [[files]] entry declares) stay unset.
resolve() fills them in; to_config() hands the result to the simulator as
MachineConfig and RunConfig, in pages and nanoseconds.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import re
import tomllib
from collections.abc import Iterable, Iterator, Sequence
from functools import partial
from importlib import resources
from pathlib import Path
from types import NoneType
from typing import Annotated, Any, Literal, Self, get_args

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    PlainSerializer,
    PrivateAttr,
    ValidationError,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, ErrorDetails

from reclaim_ext.replay import cache_pages_of
from reclaim_ext.traces import FORMATS as TRACE_FORMATS
from reclaim_ext.units import (
    describe,
    format_bandwidth,
    format_duration,
    format_size,
    parse_bandwidth,
    parse_count,
    parse_duration,
    parse_size,
)
from simulator.config import (
    CostConfig,
    DeviceConfig,
    FileConfig,
    MachineConfig,
    MemcgConfig,
    NodeConfig,
    PatternConfig,
    ProcessConfig,
    ROOT_MEMCG,
    RegionConfig,
    RunConfig,
    SwapConfig,
)
from simulator.watermarks import default_min_free_kbytes

LOCAL_DISTANCE = 10  # include/linux/topology.h
REMOTE_DISTANCE = 20
DEFAULT_ACCESSES = 1_000_000  # when a run sets neither accesses nor duration

# Anon regions and files share one space of page ids with state for every
# page; at 2**28 pages (1 TiB) that state already takes gigabytes.
MAX_TOTAL_PAGES = 2**28

Loc = tuple[str | int, ...]
Problem = tuple[Loc, str]


class ScenarioError(Exception):
    """A scenario that cannot be run.

    `problems` lists (where, what): where is a key path such as
    "processes[1].regions[0].size", a TOML line and column, or "" for the
    file as a whole. str() is the complete message, a line per problem.
    """

    def __init__(self, source: str, problems: Sequence[tuple[str, str]]) -> None:
        self.source = source
        self.problems = list(problems)
        super().__init__("\n".join(_problem_line(source, where, what) for where, what in problems))


def _problem_line(source: str, where: str, what: str) -> str:
    return f"{source}: {where}: {what}" if where else f"{source}: {what}"


def _path(loc: Loc) -> str:
    """("processes", 1, "size") -> "processes[1].size", as the user would
    point at the key in the file."""
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}" if path else part
    return path


def _under(prefix: Loc, problems: Iterable[Problem]) -> Iterator[Problem]:
    for loc, what in problems:
        yield (*prefix, *loc), what


# --------------------------------------------------------------------------
# Values with units. The models store the simulator's units (pages, ns,
# bytes/s); serializing writes the shortest exact string back, so a dumped
# scenario reads like one written by hand.
# --------------------------------------------------------------------------


def _size_schema(minimum: int) -> dict[str, Any]:
    return {
        "anyOf": [
            {"type": "integer", "minimum": minimum, "description": "a number of 4 KiB pages"},
            {
                "type": "string",
                "description": "bytes with a unit: B, KiB, MiB, GiB, TiB (K, M, G, T are"
                " binary too, as in memparse), or pages; rounded down to whole pages",
                "examples": ["4GiB", "512K", "100 pages"],
            },
        ]
    }


def _duration_schema(minimum: int) -> dict[str, Any]:
    return {
        "anyOf": [
            {"type": "integer", "minimum": minimum, "description": "nanoseconds"},
            {
                "type": "string",
                "description": "a number with a unit: ns, us, ms, s or min",
                "examples": ["100us", "1.5s", "2min"],
            },
        ]
    }


Size = Annotated[
    int, BeforeValidator(parse_size), PlainSerializer(format_size), WithJsonSchema(_size_schema(1))
]
# An offset, or a size where 0 means none.
SizeOrZero = Annotated[
    int,
    BeforeValidator(partial(parse_size, allow_zero=True)),
    PlainSerializer(format_size),
    WithJsonSchema(_size_schema(0)),
]
Duration = Annotated[
    int,
    BeforeValidator(parse_duration),
    PlainSerializer(format_duration),
    WithJsonSchema(_duration_schema(0)),
]
PositiveDuration = Annotated[
    int,
    BeforeValidator(partial(parse_duration, positive=True)),
    PlainSerializer(format_duration),
    WithJsonSchema(_duration_schema(1)),
]
Bandwidth = Annotated[
    int,
    BeforeValidator(parse_bandwidth),
    PlainSerializer(format_bandwidth),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "integer", "minimum": 1, "description": "bytes per second"},
                {
                    "type": "string",
                    "description": "a size per second: KB, MB, GB, TB are decimal,"
                    " KiB, MiB, GiB, TiB binary",
                    "examples": ["1GiB/s", "500MB/s"],
                },
            ]
        }
    ),
]
Count = Annotated[
    int,
    BeforeValidator(parse_count),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "integer", "minimum": 1},
                {
                    "type": "string",
                    "description": "a number with a decimal suffix k, M or G",
                    "examples": ["500k", "2M"],
                },
            ]
        }
    ),
]
NodeId = Annotated[int, Field(ge=0)]


class _Table(BaseModel):
    # Strict: in a TOML file true is not 1 and "2" is not 2; a value of the
    # wrong type is a mistake to report, not to convert.
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


# --------------------------------------------------------------------------
# The machine
# --------------------------------------------------------------------------


class Node(_Table):
    """A NUMA node: its memory forms one zone."""

    memory: Size = Field(description="Memory of the node.")
    cpus: int = Field(1, ge=1, description="CPUs of the node; one kswapd serves them all.")


class Swap(_Table):
    """The swap device anon pages are written to when reclaimed."""

    size: SizeOrZero = Field(0, description="Swap space; 0 means no swap.")
    latency: Duration = Field(parse_duration("100us"), description="Wait of each request.")
    bandwidth: Bandwidth = Field(parse_bandwidth("1GiB/s"), description="Shared by all transfers.")


class Backing(_Table):
    """The device files are read from and written back to."""

    latency: Duration = Field(parse_duration("100us"), description="Wait of each request.")
    bandwidth: Bandwidth = Field(parse_bandwidth("2GiB/s"), description="Shared by all transfers.")


class Costs(_Table):
    """Virtual CPU time of the work the simulator models."""

    access: Duration = Field(CostConfig.access_ns, description="One memory access by a process.")
    minor_fault: Duration = Field(
        CostConfig.minor_fault_ns, description="Allocating and mapping a zeroed or cached page."
    )
    scan: Duration = Field(
        CostConfig.scan_ns, description="Reclaim isolating one folio and deciding on it."
    )
    rmap: Duration = Field(CostConfig.rmap_ns, description="The rmap walk of one folio (folio_referenced).")
    walk: Duration = Field(
        CostConfig.walk_ns, description="One page-table entry in MGLRU's page-table walk or look-around."
    )
    free: Duration = Field(
        CostConfig.free_ns, description="Reclaim unmapping and freeing one folio."
    )
    shrink_lruvec: Duration = Field(
        CostConfig.shrink_lruvec_ns,
        description="Shrinking one lruvec once, whatever it scans: get_scan_count(), the loop, shrink_slab().",
    )


class Machine(_Table):
    """The simulated machine and its vm sysctls."""

    nodes: list[Node] = Field(min_length=1, description="The NUMA nodes, node 0 first.")
    distance: list[list[int]] | None = Field(
        None,
        description="The node distance matrix (SLIT): one row per node, 10 on the diagonal,"
        " more than 10 elsewhere. Default: 10 local, 20 remote.",
    )
    min_free_kbytes: int | None = Field(
        None,
        ge=0,
        description="vm.min_free_kbytes. Default: the kernel's, int_sqrt(memory in kB * 16)"
        " clamped to [128, 262144].",
    )
    watermark_scale_factor: int = Field(
        10, ge=1, le=3000, description="vm.watermark_scale_factor, in units of 0.01% of memory."
    )
    swappiness: int = Field(60, ge=0, le=200, description="vm.swappiness.")
    lru_gen_min_ttl: Duration = Field(
        0,
        description="MGLRU's /sys/kernel/mm/lru_gen/min_ttl_ms: when every generation is younger than this, "
        "kswapd calls the OOM killer rather than thrash (0: off). Whole milliseconds.",
    )
    swap: Swap = Field(default_factory=Swap, description="The swap device; absent means no swap.")
    backing: Backing = Field(default_factory=Backing, description="The device files live on.")
    costs: Costs = Field(default_factory=Costs, description="CPU time of the simulated work.")

    def problems(self) -> Iterator[Problem]:
        if self.distance is not None:
            yield from _distance_problems(self.distance, len(self.nodes))

    def resolved(self) -> Machine:
        total_pages = sum(node.memory for node in self.nodes)
        return self.model_copy(
            update={
                "distance": self.distance or _default_distance(len(self.nodes)),
                "min_free_kbytes": default_min_free_kbytes(total_pages)
                if self.min_free_kbytes is None
                else self.min_free_kbytes,
            }
        )


def _default_distance(node_count: int) -> list[list[int]]:
    return [
        [LOCAL_DISTANCE if i == j else REMOTE_DISTANCE for j in range(node_count)]
        for i in range(node_count)
    ]


def _distance_problems(distance: list[list[int]], node_count: int) -> Iterator[Problem]:
    if len(distance) != node_count:
        yield ("distance",), f"must have {node_count} rows, one per node, got {len(distance)}"
        return
    for i, row in enumerate(distance):
        if len(row) != node_count:
            yield ("distance", i), f"must have {node_count} entries, one per node, got {len(row)}"
            continue
        for j, d in enumerate(row):
            if i == j and d != LOCAL_DISTANCE:
                yield ("distance", i, j), f"a node's distance to itself must be 10, got {d}"
            elif i != j and d <= LOCAL_DISTANCE:
                yield ("distance", i, j), (
                    f"the distance between two nodes must be more than 10 (local), got {d}"
                )


# --------------------------------------------------------------------------
# Access patterns
# --------------------------------------------------------------------------

PatternKind = Literal["uniform", "zipf", "sequential", "loop", "hotcold"]

# The parameters each kind takes; any other one given is an error, since the
# user evidently meant a different kind.
_PARAMETERS: dict[str, tuple[str, ...]] = {
    "uniform": (),
    "zipf": ("alpha",),
    "sequential": ("start",),
    "loop": ("loop_pages",),
    "hotcold": ("hot_fraction", "hot_share"),
    "phases": (),
}
_KIND_OF_PARAMETER = {name: kind for kind, names in _PARAMETERS.items() for name in names}

_SHORTHAND_SCHEMA = {
    "type": "string",
    "description": 'Short for a table of defaults: "uniform", "sequential", "loop", "hotcold",'
    ' "zipf" (alpha 1.0) or "zipf:ALPHA".',
    "pattern": r"^(uniform|sequential|loop|hotcold|zipf(:[0-9.]+)?)$",
}


class _PatternTable(_Table):
    """Which pages of its region a process touches; see PatternConfig."""

    kind: str
    alpha: float | None = Field(
        None, gt=0, description="zipf: page of rank r has weight 1/r^alpha. Default 1.0."
    )
    start: SizeOrZero | None = Field(
        None, description="sequential: where in the region the walk starts. Default 0."
    )
    loop_pages: Size | None = Field(
        None, description="loop: how much of the region's start to cycle over. Default all."
    )
    hot_fraction: float | None = Field(
        None,
        gt=0,
        lt=1,
        description="hotcold: the share of the region, from its start, that is hot. Default 0.2.",
    )
    hot_share: float | None = Field(
        None, ge=0, le=1, description="hotcold: the share of accesses that go to it. Default 0.8."
    )

    @model_validator(mode="before")
    @classmethod
    def _expand_shorthand(cls, data: Any) -> Any:
        """"loop" is short for {kind = "loop"}, "zipf:0.9" for
        {kind = "zipf", alpha = 0.9}."""
        if not isinstance(data, str):
            return data
        kind, colon, alpha = data.partition(":")
        if not colon:
            return {"kind": kind}
        if kind != "zipf":
            raise ValueError(
                f'only zipf takes a parameter after a colon ("zipf:0.9"), got {describe(data)};'
                " give other parameters in a table, {kind = ..., ...}"
            )
        try:
            return {"kind": kind, "alpha": float(alpha)}
        except ValueError:
            raise ValueError(
                f"the alpha after zipf: must be a number, got {describe(data)}"
            ) from None

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {"anyOf": [_SHORTHAND_SCHEMA, handler(core_schema)]}

    def problems(self, region_pages: int) -> Iterator[Problem]:
        for name, owner in _KIND_OF_PARAMETER.items():
            if getattr(self, name) is not None and owner != self.kind:
                yield (name,), f"applies to a {owner} pattern, not to a {self.kind} one"
        if self.kind == "sequential" and self.start is not None and self.start >= region_pages:
            yield ("start",), (
                f"must be inside the region ({format_size(region_pages)}),"
                f" got {format_size(self.start)}"
            )
        if self.kind == "loop" and self.loop_pages is not None and self.loop_pages > region_pages:
            yield ("loop_pages",), (
                f"must not exceed the region ({format_size(region_pages)}),"
                f" got {format_size(self.loop_pages)}"
            )

    def resolved(self, region_pages: int) -> Self:
        defaults = {
            "alpha": PatternConfig.alpha,
            "start": PatternConfig.start,
            "loop_pages": region_pages,
            "hot_fraction": PatternConfig.hot_fraction,
            "hot_share": PatternConfig.hot_share,
        }
        unset = [name for name in _PARAMETERS[self.kind] if getattr(self, name) is None]
        return self.model_copy(update={name: defaults[name] for name in unset})

    def config(self) -> PatternConfig:
        """The PatternConfig of a resolved pattern."""
        parameters = {name: getattr(self, name) for name in _PARAMETERS[self.kind]}
        return PatternConfig(kind=self.kind, **parameters)


class Phase(_PatternTable):
    """One phase of a phases pattern."""

    kind: PatternKind = Field(description="The pattern of this phase; phases do not nest.")
    duration: PositiveDuration | None = Field(
        None,
        description="How long the phase lasts, in the process's virtual time. Required for"
        " every phase but the last, which lasts for ever.",
    )

    def config(self) -> PatternConfig:
        return dataclasses.replace(super().config(), duration_ns=self.duration or 0)


class Pattern(_PatternTable):
    """An access pattern: a table, or a string naming a kind with its
    default parameters."""

    kind: Literal[PatternKind, "phases"] = Field(
        description="uniform: no locality; zipf: a skewed working set; sequential: a stream;"
        " loop: a cyclic walk; hotcold: a hot part and a cold rest; phases: patterns one"
        " after the other."
    )
    phases: list[Phase] | None = Field(
        None,
        min_length=1,
        description='phases: the patterns, in order: {kind = ..., duration = "5s"}.',
    )

    def problems(self, region_pages: int) -> Iterator[Problem]:
        yield from super().problems(region_pages)
        if self.kind == "phases" and self.phases is None:
            yield ("phases",), "a phases pattern needs its list of phases"
        if self.kind != "phases" and self.phases is not None:
            yield ("phases",), f"applies to a phases pattern, not to a {self.kind} one"
        for i, phase in enumerate(self.phases or ()):
            yield from _under(("phases", i), phase.problems(region_pages))
            last = i == len(self.phases) - 1
            if not last and phase.duration is None:
                yield ("phases", i, "duration"), (
                    "required for every phase but the last (which lasts for ever)"
                )
            if last and phase.duration is not None:
                yield ("phases", i, "duration"), (
                    "the last phase lasts for ever; it takes no duration"
                )

    def resolved(self, region_pages: int) -> Self:
        pattern = super().resolved(region_pages)
        if self.phases is None:
            return pattern
        return pattern.model_copy(
            update={"phases": [phase.resolved(region_pages) for phase in self.phases]}
        )

    def config(self) -> PatternConfig:
        phases = tuple(phase.config() for phase in self.phases or ())
        return dataclasses.replace(super().config(), phases=phases)


# --------------------------------------------------------------------------
# Processes and files
# --------------------------------------------------------------------------


class Region(_Table):
    """A part of a process's address space: private anon memory, or (part
    of) a file, mapped or read."""

    kind: Literal["anon", "file"] = Field(description="Private anonymous memory, or a file.")
    file: str | None = Field(
        None,
        min_length=1,
        description="file regions: the file's name. Regions naming one file share its pages; a"
        " file no [[files]] entry declares is as large as the regions that name it.",
    )
    offset: SizeOrZero | None = Field(
        None, description="file regions: where in the file the region starts. Default 0."
    )
    size: Size = Field(description="Size of the region.")
    access: Literal["mmap", "rw"] = Field(
        "mmap",
        description="mmap: through the page table (the accessed bit); rw: read()/write() on a"
        " file, which reclaim sees at once (folio_mark_accessed).",
    )
    write_ratio: float = Field(0.0, ge=0, le=1, description="The share of accesses that write.")
    share: float = Field(
        1.0, gt=0, description="Weight of this region among the process's regions' accesses."
    )
    exec: bool | None = Field(
        None,
        description="file regions: an executable mapping (text), which the classic LRU"
        " protects. Default false.",
    )
    pattern: Pattern = Field(description="Which pages of the region the process touches.")

    def problems(self) -> Iterator[Problem]:
        if self.kind == "file" and self.file is None:
            yield ("file",), "a file region needs the name of its file"
        if self.kind == "anon":
            for name in ("file", "offset", "exec"):
                if getattr(self, name) is not None:
                    yield (name,), "applies to file regions only"
            if self.access == "rw":
                yield ("access",), (
                    '"rw" (read()/write()) applies to file regions only; a process reaches'
                    ' its anon memory through mmap'
                )
        if self.exec and self.access == "rw":
            yield ("exec",), 'applies to mappings; read()/write() (access = "rw") maps nothing'
        yield from _under(("pattern",), self.pattern.problems(self.size))

    def resolved(self) -> Region:
        update: dict[str, Any] = {"pattern": self.pattern.resolved(self.size)}
        if self.kind == "file":
            update |= {"offset": self.offset or 0, "exec": bool(self.exec)}
        return self.model_copy(update=update)

    def config(self) -> RegionConfig:
        return RegionConfig(
            kind=self.kind,
            pages=self.size,
            pattern=self.pattern.config(),
            access=self.access,
            file=self.file,
            file_offset=self.offset or 0,
            write_ratio=self.write_ratio,
            share=self.share,
            exec=bool(self.exec),
        )


class Process(_Table):
    """A process and the memory it touches."""

    name: str = Field(min_length=1, description="Unique name, used in reports.")
    node: NodeId = Field(0, description="The node the process runs on.")
    mempolicy: Literal["local", "bind", "interleave"] = Field(
        "local",
        description="local: allocate on the process's node, falling back by distance;"
        " bind: only on `nodes`, nearest first; interleave: round-robin over `nodes`.",
    )
    nodes: list[NodeId] | None = Field(
        None,
        min_length=1,
        description="bind and interleave: the nodes to allocate on. Default: the process's"
        " node for bind, every node for interleave.",
    )
    start: Duration = Field(0, description="When the process starts, in virtual time.")
    stop: PositiveDuration | None = Field(None, description="When it exits, if it does.")
    accesses: Count | None = Field(None, description="Exit after this many accesses.")
    regions: list[Region] = Field(min_length=1, description="Its memory.")
    cgroup: str | None = Field(None, description="The cgroup it runs in (default: the root).")

    def problems(self, node_count: int) -> Iterator[Problem]:
        if self.node >= node_count:
            yield ("node",), _no_such_node(self.node, node_count)
        if self.nodes is not None and self.mempolicy == "local":
            yield ("nodes",), (
                'applies to the "bind" and "interleave" mempolicies; a "local" process'
                " allocates on its node and falls back by distance"
            )
        for i, node in enumerate(self.nodes or ()):
            if node >= node_count:
                yield ("nodes", i), _no_such_node(node, node_count)
            elif node in self.nodes[:i]:
                yield ("nodes", i), f"node {node} is listed twice"
        if self.stop is not None and self.stop <= self.start:
            yield ("stop",), (
                f"must be after start ({format_duration(self.start)}),"
                f" got {format_duration(self.stop)}"
            )
        for i, region in enumerate(self.regions):
            yield from _under(("regions", i), region.problems())

    def resolved(self, node_count: int) -> Process:
        default_nodes = {"local": None, "bind": [self.node], "interleave": list(range(node_count))}
        return self.model_copy(
            update={
                "nodes": self.nodes or default_nodes[self.mempolicy],
                "regions": [region.resolved() for region in self.regions],
            }
        )

    def config(self, memcg_index: dict[str, int]) -> ProcessConfig:
        return ProcessConfig(
            name=self.name,
            memcg=memcg_index[self.cgroup or ""],
            regions=tuple(region.config() for region in self.regions),
            cpu_node=self.node,
            mempolicy=self.mempolicy,
            nodes=tuple(self.nodes or ()),
            start_ns=self.start,
            stop_ns=self.stop,
            accesses=self.accesses,
        )


def _no_such_node(node: int, node_count: int) -> str:
    nodes = "node 0" if node_count == 1 else f"nodes 0-{node_count - 1}"
    return f"node {node} does not exist (the machine has {nodes})"


def _limit(value: Any) -> int | None:
    """A memory.max-style limit: a size, or "max" for none."""
    return None if value == "max" else parse_size(value, allow_zero=True)


Limit = Annotated[
    int | None,
    BeforeValidator(_limit),
    PlainSerializer(lambda v: "max" if v is None else format_size(v)),
    WithJsonSchema({"anyOf": [_size_schema(0), {"const": "max", "description": "no limit"}]}),
]


class ProactiveReclaim(_Table):
    """A write to memory.reclaim: reclaim `amount` from the cgroup at `at`."""

    at: Duration = Field(description="When, in virtual time.")
    amount: Size = Field(description="How much to reclaim.")


class Cgroup(_Table):
    """A memory cgroup of the v2 hierarchy, with its memory.* files."""

    name: str = Field(
        min_length=1, pattern=r"^[^/]+(/[^/]+)*$",
        description='Its path below the root: "web", "web/db"; a parent is declared before its children.',
    )
    memory_max: Limit = Field(None, description="memory.max: the hard limit (default max).")
    memory_high: Limit = Field(None, description="memory.high: the throttling limit (default max).")
    memory_low: SizeOrZero = Field(0, description="memory.low: best-effort protection.")
    memory_min: SizeOrZero = Field(0, description="memory.min: hard protection.")
    swap_max: Limit = Field(None, description="memory.swap.max: the swap it may use (default max).")
    reclaim: list[ProactiveReclaim] = Field(
        default_factory=list, description='Proactive reclaim: [{at = "500ms", amount = "1MiB"}], as memory.reclaim.'
    )
    policy: str | None = Field(
        None, min_length=1,
        description="The reclaim policy attached to this cgroup (a name or a policy file), as cache_ext attaches "
                    "one to a cgroup: it serves the cgroup and its descendants without one of their own. "
                    "Default: its parent's, up to run.policy. An ejected policy falls back along the same chain.",
    )

    @property
    def parent(self) -> str:
        return self.name.rpartition("/")[0]

    def config(self, parent: int) -> MemcgConfig:
        return MemcgConfig(self.name, parent, self.memory_max, self.memory_high, self.memory_low, self.memory_min,
                           self.swap_max, tuple((r.at, r.amount) for r in self.reclaim))


class File(_Table):
    """A file on the backing device, declared to give it a size of its own."""

    name: str = Field(min_length=1, description="The name regions refer to it by.")
    size: Size = Field(description="Size of the file; every region of it must fit inside.")


# --------------------------------------------------------------------------
# The run and the scenario
# --------------------------------------------------------------------------


class _PolicyRun(_Table):
    """The policy, its fallback and the seed: what every kind of run names."""

    seed: int = Field(0, ge=0, description="Seeds every random choice: a run is reproducible.")
    policy: str = Field(
        "lru", min_length=1,
        description="The reclaim policy: a built-in, an example, an installed policy, or a path to a policy file.",
    )
    fallback: Literal["lru", "mglru"] = Field(
        "lru", description="The built-in that takes over when a user policy is ejected."
    )


class Run(_PolicyRun):
    """How long to run and what to record. The run ends at the first of
    `accesses`, `duration`, or the exit of every process."""

    accesses: Count | None = Field(
        None, description="Accesses over all processes. Default 1M if no duration is given."
    )
    duration: PositiveDuration | None = Field(None, description="Virtual time to run for.")
    sample_interval: PositiveDuration = Field(
        parse_duration("100ms"), description="Virtual time between two samples of the counters."
    )
    check_invariants: bool = Field(
        False, description="Check the simulator's invariants as it runs (slow)."
    )

    def resolved(self) -> Run:
        if self.accesses is None and self.duration is None:
            return self.model_copy(update={"accesses": DEFAULT_ACCESSES})
        return self

    def config(self) -> RunConfig:
        return RunConfig(
            seed=self.seed,
            accesses=self.accesses,
            duration_ns=self.duration,
            sample_interval_ns=self.sample_interval,
            check_invariants=self.check_invariants,
        )


class Scenario(_Table):
    """A reclaim-ext scenario: a machine, processes competing for its
    memory, and a run."""

    machine: Machine = Field(description="The machine: NUMA nodes, swap, vm sysctls.")
    files: list[File] = Field(
        default_factory=list, description="Files given a size of their own (optional)."
    )
    cgroups: list[Cgroup] = Field(
        default_factory=list, description="Memory cgroups below the root (optional): limits and protection."
    )
    processes: list[Process] = Field(
        min_length=1, description="The processes, competing for the machine's memory."
    )
    run: Run = Field(default_factory=Run, description="How long to run, under which policy.")

    @model_validator(mode="after")
    def _check_relations(self) -> Self:
        # Raised as is, not as a ValueError: pydantic would report it at the
        # root of the scenario, not at the keys each problem names.
        problems = list(self._relation_problems())
        if problems:
            raise ScenarioError("<scenario>", [(_path(loc), what) for loc, what in problems])
        return self

    def _relation_problems(self) -> Iterator[Problem]:
        yield from _under(("machine",), self.machine.problems())
        for i, process in enumerate(self.processes):
            yield from _under(("processes", i), process.problems(len(self.machine.nodes)))
        yield from _duplicate_names("processes", self.processes)
        yield from _duplicate_names("files", self.files)
        yield from _duplicate_names("cgroups", self.cgroups)
        yield from self._cgroup_problems()
        yield from self._file_fit_problems()
        yield from self._capacity_problems()

    def _cgroup_problems(self) -> Iterator[Problem]:
        declared: set[str] = set()
        for i, group in enumerate(self.cgroups):
            if group.parent and group.parent not in declared:
                yield ("cgroups", i, "name"), (
                    f"its parent {describe(group.parent)} is not declared before it in [[cgroups]]")
            declared.add(group.name)
        for i, process in enumerate(self.processes):
            if process.cgroup is not None and process.cgroup not in declared:
                known = ", ".join(describe(g.name) for g in self.cgroups) or "none"
                yield ("processes", i, "cgroup"), f"no cgroup {describe(process.cgroup)} (declared: {known})"

    def memcg_configs(self) -> tuple[MemcgConfig, ...]:
        """The root and the declared cgroups, each with its parent's index."""
        index = {"": 0}
        memcgs = [ROOT_MEMCG]
        for group in self.cgroups:
            index[group.name] = len(memcgs)
            memcgs.append(group.config(index[group.parent]))
        return tuple(memcgs)

    def _file_regions(self) -> Iterator[tuple[Loc, Region]]:
        for p, process in enumerate(self.processes):
            for r, region in enumerate(process.regions):
                if region.kind == "file" and region.file is not None:
                    yield ("processes", p, "regions", r), region

    def _file_fit_problems(self) -> Iterator[Problem]:
        declared = {file.name: (i, file) for i, file in enumerate(self.files)}
        for loc, region in self._file_regions():
            if region.file not in declared:
                continue
            i, file = declared[region.file]
            offset = region.offset or 0
            if offset >= file.size:
                yield (*loc, "offset"), (
                    f"{format_size(offset)} is past the end of file {describe(file.name)}"
                    f" ({format_size(file.size)}, files[{i}])"
                )
            elif offset + region.size > file.size:
                yield (*loc, "size"), (
                    f"offset + size ({format_size(offset + region.size)}) runs past the end of"
                    f" file {describe(file.name)} ({format_size(file.size)}, files[{i}])"
                )

    def undeclared_file_sizes(self) -> dict[str, int]:
        """The files regions name that [[files]] does not declare, each as
        large as the furthest region into it."""
        declared = {file.name for file in self.files}
        sizes: dict[str, int] = {}
        for _, region in self._file_regions():
            if region.file not in declared:
                end = (region.offset or 0) + region.size
                sizes[region.file] = max(sizes.get(region.file, 0), end)
        return sizes

    def _footprints(self) -> Iterator[tuple[Loc, int]]:
        """The pages of every file and anon region, each charged to the key
        that sets it: an undeclared file to the first region naming it."""
        for i, file in enumerate(self.files):
            yield ("files", i, "size"), file.size
        undeclared = self.undeclared_file_sizes()
        for p, process in enumerate(self.processes):
            for r, region in enumerate(process.regions):
                loc = ("processes", p, "regions", r, "size")
                if region.kind == "anon":
                    yield loc, region.size
                elif region.file in undeclared:
                    yield loc, undeclared.pop(region.file)

    def _capacity_problems(self) -> Iterator[Problem]:
        total = 0
        for loc, pages in self._footprints():
            total += pages
            if total > MAX_TOTAL_PAGES:
                yield loc, (
                    f"brings files and anon memory to {format_size(total)}, more than the"
                    f" simulator can hold: 2**28 pages ({format_size(MAX_TOTAL_PAGES)}) in all"
                )
                return


class Replay(_Table):
    """Exact cache mode (simulator/cache.py): a trace of page-cache reads
    against a memory of exactly `cache` pages, no watermarks, no kswapd,
    one eviction per miss."""

    trace: str = Field(min_length=1, description="The trace file, relative to the scenario file.")
    format: Literal[TRACE_FORMATS] = Field(  # type: ignore[valid-type]
        "auto", description="The trace's format; auto goes by the file's extension."
    )
    column: int | str = Field(0, description="For a CSV trace: the column of the ids, by index or header name.")
    cache: int | str = Field(
        description='Memory in pages: a count (25000), a size ("100MiB"), or a share of the distinct ids ("10%").'
    )

    @field_validator("cache", mode="before")
    @classmethod
    def _cache_size(cls, value: Any) -> int | str:
        if isinstance(value, str) and value.strip().endswith("%"):
            cache_pages_of(value, 1)  # checks the percentage
            return value.strip()
        return parse_size(value)

    @field_validator("column")
    @classmethod
    def _column_index(cls, value: int | str) -> int | str:
        if isinstance(value, int) and value < 0:
            raise ValueError(f"a column index is 0 or more, got {value}")
        return value


class ReplayRun(_PolicyRun):
    """The policy that replays the trace ("opt" too: Belady's optimum)."""


class ReplayScenario(_Table):
    """A reclaim-ext replay scenario: a trace replayed in exact cache mode
    instead of a machine's processes."""

    replay: Replay = Field(description="The trace and the memory it runs against.")
    run: ReplayRun = Field(default_factory=ReplayRun, description="The policy and the seed.")
    _directory: Path = PrivateAttr(default_factory=Path)

    def trace_path(self) -> Path:
        """The trace, found relative to the scenario file."""
        return self._directory / self.replay.trace


def _duplicate_names(
    section: str, entries: Sequence[Process] | Sequence[File]
) -> Iterator[Problem]:
    first: dict[str, int] = {}
    for i, entry in enumerate(entries):
        if entry.name in first:
            yield (section, i, "name"), (
                f"{describe(entry.name)} is already the name of {section}[{first[entry.name]}]"
            )
        first.setdefault(entry.name, i)


# --------------------------------------------------------------------------
# Resolving
# --------------------------------------------------------------------------


def resolve(scenario: Scenario) -> Scenario:
    """`scenario` with every default filled in and every file declared."""
    machine = scenario.machine.resolved()
    implied = scenario.undeclared_file_sizes()
    return Scenario(
        machine=machine,
        files=scenario.files + [File(name=name, size=size) for name, size in implied.items()],
        cgroups=scenario.cgroups,
        processes=[process.resolved(len(machine.nodes)) for process in scenario.processes],
        run=scenario.run.resolved(),
    )


def to_config(scenario: Scenario) -> tuple[MachineConfig, RunConfig]:
    """What the simulator runs: the scenario resolved, in pages and ns."""
    resolved = resolve(scenario)
    machine = resolved.machine
    memcgs = resolved.memcg_configs()
    memcg_index = {memcg.name: i for i, memcg in enumerate(memcgs)}
    machine_config = MachineConfig(
        nodes=tuple(NodeConfig(pages=node.memory, cpus=node.cpus) for node in machine.nodes),
        processes=tuple(process.config(memcg_index) for process in resolved.processes),
        memcgs=memcgs,
        files=tuple(FileConfig(name=file.name, pages=file.size) for file in resolved.files),
        distance=tuple(tuple(row) for row in machine.distance or ()),
        min_free_kbytes=machine.min_free_kbytes,
        watermark_scale_factor=machine.watermark_scale_factor,
        swappiness=machine.swappiness,
        lru_gen_min_ttl_ms=machine.lru_gen_min_ttl // 1_000_000,
        swap=SwapConfig(
            pages=machine.swap.size,
            device=DeviceConfig(machine.swap.latency, machine.swap.bandwidth),
        ),
        backing=DeviceConfig(machine.backing.latency, machine.backing.bandwidth),
        costs=CostConfig(
            access_ns=machine.costs.access,
            minor_fault_ns=machine.costs.minor_fault,
            scan_ns=machine.costs.scan,
            rmap_ns=machine.costs.rmap,
            walk_ns=machine.costs.walk,
            free_ns=machine.costs.free,
            shrink_lruvec_ns=machine.costs.shrink_lruvec,
        ),
    )
    return machine_config, resolved.run.config()


# --------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------


def load_scenario(path: str | os.PathLike[str]) -> Scenario | ReplayScenario:
    """The scenario in the TOML file at `path`; ScenarioError if it cannot
    be read or is not a valid scenario. A file with a [replay] table is a
    ReplayScenario."""
    source = os.fspath(path)
    try:
        data = Path(source).read_bytes()
    except OSError as err:
        raise ScenarioError(source, [("", f"cannot read: {err.strerror}")]) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        problem = f"invalid TOML: not UTF-8 (byte {err.start})"
        raise ScenarioError(source, [("", problem)]) from None
    scenario = parse_scenario(text, source)
    if isinstance(scenario, ReplayScenario):
        scenario._directory = Path(source).parent
    return scenario


def parse_scenario(text: str, source: str = "<string>") -> Scenario | ReplayScenario:
    """The scenario in TOML `text`; `source` names it in error messages."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ScenarioError(source, [_toml_syntax_problem(err)]) from None
    return _validate(data, source)


def default_scenario() -> Scenario:
    """The packaged example: see its comments for what it shows."""
    text = resources.files("reclaim_ext").joinpath("scenarios/default.toml").read_text("utf-8")
    return parse_scenario(text, "reclaim_ext/scenarios/default.toml")


def json_schema() -> dict[str, Any]:
    """The JSON schema of scenario files, for editors and for reading. (A
    replay scenario's is ReplayScenario.model_json_schema().)"""
    return Scenario.model_json_schema()


def _validate(data: dict[str, Any], source: str) -> Scenario | ReplayScenario:
    model = ReplayScenario if "replay" in data else Scenario
    try:
        return model.model_validate(data)
    except ValidationError as err:
        problems = [(_path(e["loc"]), _pydantic_message(e)) for e in err.errors(include_url=False)]
        raise ScenarioError(source, problems) from None
    except ScenarioError as err:
        raise ScenarioError(source, err.problems) from None


_TOML_POSITION = re.compile(r"(.*) \(at (line \d+, column \d+|end of document)\)", re.DOTALL)


def _toml_syntax_problem(err: tomllib.TOMLDecodeError) -> tuple[str, str]:
    match = _TOML_POSITION.fullmatch(str(err))
    if match is None:
        return "", f"invalid TOML: {err}"
    return match[2], f"invalid TOML: {match[1]}"


_EXPECTED = {
    "model_type": "a table",
    "list_type": "an array",
    "int_type": "an integer",
    "float_type": "a number",
    "bool_type": "true or false",
    "string_type": "a string",
}


def _pydantic_message(error: ErrorDetails) -> str:
    """Pydantic's complaint in the user's terms: TOML types and keys."""
    kind, got = error["type"], describe(error["input"])
    if kind == "value_error":
        return str(error["ctx"]["error"])
    if kind == "extra_forbidden":
        return _unknown_key_message(error["loc"])
    if kind == "missing":
        return "required, but missing"
    if kind in _EXPECTED:
        return f"expected {_EXPECTED[kind]}, got {got}"
    if kind == "literal_error":
        choices = error["ctx"]["expected"].replace("'", '"')
        return f"must be {choices}, got {got}"
    if kind == "too_short":
        return "must not be empty"
    return f"{error['msg'].replace('Input should', 'must', 1)}, got {got}"


def _unknown_key_message(loc: Loc) -> str:
    key, known = str(loc[-1]), _keys_at(loc[:-1])
    close = difflib.get_close_matches(key, known, n=1)
    if close:
        return f'unknown key (did you mean "{close[0]}"?)'
    return f"unknown key; the keys here are: {', '.join(known)}"


def _keys_at(loc: Loc) -> list[str]:
    """The keys the table at `loc` may have."""
    model: type[BaseModel] = Scenario
    for part in loc:
        if isinstance(part, str):
            model = _table_of(model.model_fields[part].annotation)
    return list(model.model_fields)


def _table_of(annotation: Any) -> type[BaseModel]:
    """The model inside list[...] and ... | None."""
    while not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
        annotation = next(arg for arg in get_args(annotation) if arg is not NoneType)
    return annotation


# --------------------------------------------------------------------------
# Writing. tomllib only reads; the emitter below writes what a scenario can
# hold: tables, arrays of tables, and inline values.
# --------------------------------------------------------------------------

_LINE_WIDTH = 88


def resolved_toml(scenario: Scenario | ReplayScenario) -> str:
    """`scenario` resolved, as TOML that parses back to the same scenario."""
    lines = ["# A reclaim-ext scenario, every default resolved."]
    resolved = resolve(scenario) if isinstance(scenario, Scenario) else scenario
    _emit_table(lines, (), resolved.model_dump(exclude_none=True))
    return "\n".join(lines) + "\n"


def _emit_table(lines: list[str], path: tuple[str, ...], table: dict[str, Any]) -> None:
    """Keys first, then sub-tables: TOML gives every key after a [header]
    to that header's table."""
    sections = {key: value for key, value in table.items() if _is_section(path, key, value)}
    lines.extend(_key_value(key, value) for key, value in table.items() if key not in sections)
    for key, value in sections.items():
        name = ".".join((*path, key))
        if isinstance(value, dict):
            lines += ["", f"[{name}]"]
            _emit_table(lines, (*path, key), value)
            continue
        for item in value:
            lines += ["", f"[[{name}]]"]
            _emit_table(lines, (*path, key), item)


def _is_section(path: tuple[str, ...], key: str, value: Any) -> bool:
    """Top-level tables get a [header]; deeper ones stay inline if short."""
    tables = isinstance(value, dict) or (
        isinstance(value, list) and bool(value) and all(isinstance(item, dict) for item in value)
    )
    return tables and (not path or len(_key_value(key, value)) > _LINE_WIDTH)


def _key_value(key: str, value: Any) -> str:
    line = f"{key} = {_inline(value)}"
    if len(line) > _LINE_WIDTH and isinstance(value, list):
        # A large distance matrix: a row per line.
        return "\n".join([f"{key} = [", *(f"    {_inline(item)}," for item in value), "]"])
    return line


def _inline(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, list):
        return "[" + ", ".join(_inline(item) for item in value) + "]"
    return "{" + ", ".join(f"{key} = {_inline(item)}" for key, item in value.items()) + "}"


def _toml_string(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + re.sub(r"[\x00-\x1f\x7f]", lambda m: f"\\u{ord(m[0]):04x}", escaped) + '"'
