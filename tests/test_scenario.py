"""Scenario files: units, resolved defaults, the round trip through
resolved_toml(), and the message each kind of mistake gets."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reclaim_ext.scenario import (
    Scenario,
    ScenarioError,
    default_scenario,
    json_schema,
    load_scenario,
    parse_scenario,
    resolve,
    resolved_toml,
    to_config,
)
from reclaim_ext.units import (
    MAX_PAGES,
    format_bandwidth,
    format_duration,
    format_size,
    parse_bandwidth,
    parse_count,
    parse_duration,
    parse_size,
)
from simulator.config import FileConfig, PatternConfig

GIB_PAGES = 2**18

ANON_REGION = """\
kind = "anon"
size = "1MiB"
pattern = "uniform"
"""


def scenario_text(
    machine: str = "", process: str = "", region: str = ANON_REGION, tail: str = "",
    nodes: str = '[{memory = "1GiB"}, {memory = "1GiB"}]',
) -> str:  # fmt: skip
    """A two-node machine with one process "a" of one region; each argument
    adds lines to (or replaces) its part."""
    return f"""
[machine]
nodes = {nodes}
{machine}

[[processes]]
name = "a"
{process}

[[processes.regions]]
{region}
{tail}
"""


# --------------------------------------------------------------------------
# Units
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "pages"),
    [
        (1, 1),
        ("4KiB", 1),
        ("4GiB", 2**20),
        ("1G", 2**18),
        ("512k", 128),
        ("2 MiB", 512),
        ("1.5MiB", 384),
        ("6000B", 1),  # rounded down to whole pages
        ("100 pages", 100),
        ("1 page", 1),
        ("16TiB", MAX_PAGES),
    ],
)
def test_sizes(text: int | str, pages: int) -> None:
    assert parse_size(text) == pages


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("-4GiB", 'must be positive, got "-4GiB"'),
        (0, "must be positive, got 0"),
        ("100B", 'must be at least one page (4KiB), got "100B"'),
        ("1GB", 'unknown unit "GB" in "1GB"'),
        ("4096", 'no unit in "4096"'),
        ("lots", 'expected a size: a number of pages, or a string such as "4GiB"'),
        (True, "expected a size: a number of pages, or a string such as \"4GiB\" or \"100 pages\", got true"),
        (1.5, "got 1.5"),
        ("17TiB", '"17TiB" is more than the simulator can name: at most 2**32 pages (16TiB)'),
    ],
)
def test_bad_sizes(text: object, message: str) -> None:
    with pytest.raises(ValueError) as err:
        parse_size(text)
    assert message in str(err.value)


def test_zero_size_where_zero_means_none() -> None:
    assert parse_size("0B", allow_zero=True) == 0
    with pytest.raises(ValueError, match="must be zero or positive"):
        parse_size(-1, allow_zero=True)


@pytest.mark.parametrize(
    ("text", "ns"),
    [(5, 5), ("10ns", 10), ("100us", 100_000), ("3ms", 3_000_000), ("1.5s", 1_500_000_000),
     ("2min", 120_000_000_000), ("0s", 0)],
)  # fmt: skip
def test_durations(text: int | str, ns: int) -> None:
    assert parse_duration(text) == ns


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("-1ms", 'must be zero or positive, got "-1ms"'),
        ("1.5ns", '"1.5ns" is not a whole number of nanoseconds'),
        ("5h", 'unknown unit "h" in "5h": use ns, us, ms, s or min'),
        (False, "expected a duration"),
    ],
)
def test_bad_durations(text: object, message: str) -> None:
    with pytest.raises(ValueError) as err:
        parse_duration(text)
    assert message in str(err.value)


@pytest.mark.parametrize(
    ("text", "bytes_per_second"),
    [("1GiB/s", 2**30), ("500MB/s", 500_000_000), ("2 KiB/s", 2048), ("1.5kB/s", 1500), (1000, 1000)],
)
def test_bandwidths(text: int | str, bytes_per_second: int) -> None:
    assert parse_bandwidth(text) == bytes_per_second


@pytest.mark.parametrize(
    ("text", "message"),
    [("1GiB", "expected a bandwidth"), ("0MB/s", "must be at least 1 byte per second"),
     ("1Gb/s", 'unknown unit "Gb"')],
)  # fmt: skip
def test_bad_bandwidths(text: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_bandwidth(text)


@pytest.mark.parametrize(
    ("text", "count"),
    [(7, 7), ("1000", 1000), ("500k", 500_000), ("10M", 10_000_000), ("2.5M", 2_500_000), ("1G", 10**9)],
)
def test_counts(text: int | str, count: int) -> None:
    assert parse_count(text) == count


@pytest.mark.parametrize("text", [0, "0k", "1.5", "10x", 2.0])
def test_bad_counts(text: object) -> None:
    with pytest.raises(ValueError):
        parse_count(text)


@given(st.integers(1, MAX_PAGES))
def test_sizes_format_back_exactly(pages: int) -> None:
    assert parse_size(format_size(pages)) == pages


@given(st.integers(0, 10**15))
def test_durations_format_back_exactly(ns: int) -> None:
    assert parse_duration(format_duration(ns)) == ns


@given(st.integers(1, 10**13))
def test_bandwidths_format_back_exactly(bytes_per_second: int) -> None:
    assert parse_bandwidth(format_bandwidth(bytes_per_second)) == bytes_per_second


def test_formats_are_the_shortest_exact_unit() -> None:
    assert format_size(GIB_PAGES) == "1GiB"
    assert format_size(3) == "12KiB"
    assert format_duration(90 * 10**9) == "90s"
    assert format_duration(120 * 10**9) == "2min"
    assert format_bandwidth(500_000_000) == "500MB/s"
    assert format_bandwidth(2**31) == "2GiB/s"


# --------------------------------------------------------------------------
# The default scenario and resolving
# --------------------------------------------------------------------------


def test_default_scenario_loads_and_resolves() -> None:
    machine, run = to_config(default_scenario())
    assert [(node.pages, node.cpus) for node in machine.nodes] == [(2**16, 2), (2**16, 2)]
    assert machine.distance == ((10, 20), (20, 10))
    assert machine.min_free_kbytes == 2896  # int_sqrt(512MiB in kB * 16)
    assert machine.swap.pages == GIB_PAGES
    assert [p.name for p in machine.processes] == [
        "zipf-worker", "stream-reader", "looper", "hotcold-service"
    ]  # fmt: skip
    # stream.dat is declared; service.db is as large as its one region.
    assert machine.files == (FileConfig("stream.dat", 3 * 2**16), FileConfig("service.db", 2**16))
    total_memory = sum(node.pages for node in machine.nodes)
    assert machine.files[0].pages > total_memory
    zipf, stream, loop, hotcold = (p.regions[0] for p in machine.processes)
    assert zipf.pattern == PatternConfig("zipf", alpha=0.9) and zipf.write_ratio == 0.3
    assert stream.access == "rw" and stream.pattern.kind == "sequential"
    assert loop.pattern == PatternConfig("loop", loop_pages=loop.pages)
    assert hotcold.pattern == PatternConfig("hotcold", hot_fraction=0.1, hot_share=0.9)
    assert (run.seed, run.accesses, run.duration_ns) == (0, None, 10**9)
    assert default_scenario().run.policy == "lru"


EVERY_FEATURE = scenario_text(
    machine="""
distance = [[10, 21], [21, 10]]
min_free_kbytes = 1024
watermark_scale_factor = 150
swappiness = 100
swap = {size = "512MiB", latency = "1ms", bandwidth = "500MB/s"}
backing = {latency = "50us"}
costs = {scan = "250ns"}
""",
    process="""
mempolicy = "bind"
start = "1s"
stop = "1min"
accesses = "500k"
""",
    region="""
kind = "file"
file = "lib.so"
offset = "1MiB"
size = "3MiB"
exec = true
pattern = {kind = "phases", phases = [{kind = "zipf", alpha = 1.2, duration = "5s"}, "loop"]}
""",
    tail="""
[[processes.regions]]
kind = "anon"
size = 1000
share = 3
pattern = {kind = "sequential", start = "4KiB"}

[[processes]]
name = "b"
node = 1
mempolicy = "interleave"

[[processes.regions]]
kind = "file"
file = "data"
access = "rw"
size = "1GiB"
pattern = "hotcold"

[[files]]
name = "data"
size = "2GiB"

[run]
seed = 7
duration = "30s"
sample_interval = "10ms"
check_invariants = true
""",
)


@pytest.mark.parametrize(
    "scenario", [default_scenario(), parse_scenario(EVERY_FEATURE)], ids=["default", "every-feature"]
)
def test_resolved_toml_round_trips(scenario: Scenario) -> None:
    text = resolved_toml(scenario)
    again = parse_scenario(text, "resolved.toml")
    assert again == resolve(scenario)
    assert to_config(again) == to_config(scenario)
    assert resolved_toml(again) == text


def test_every_default_is_resolved() -> None:
    machine, run = to_config(parse_scenario(EVERY_FEATURE))
    a, b = machine.processes
    assert a.nodes == (0,)  # bind: the process's own node
    assert b.nodes == (0, 1)  # interleave: every node
    assert (a.start_ns, a.stop_ns, a.accesses) == (10**9, 60 * 10**9, 500_000)
    text, anon = a.regions
    assert (text.file_offset, text.pages, text.exec) == (256, 768, True)
    first, last = text.pattern.phases
    assert (first.kind, first.alpha, first.duration_ns) == ("zipf", 1.2, 5 * 10**9)
    assert (last.kind, last.loop_pages) == ("loop", 768)  # the whole region
    assert anon.pattern.start == 1 and anon.share == 3.0
    assert machine.files == (FileConfig("data", 2 * GIB_PAGES), FileConfig("lib.so", 1024))
    assert machine.swap.device.bandwidth == 500_000_000
    assert machine.backing.bandwidth == 2**31  # a default beside a given key
    assert machine.costs.scan_ns == 250
    assert (run.accesses, run.duration_ns) == (None, 30 * 10**9)


def test_run_defaults_to_a_million_accesses() -> None:
    _, run = to_config(parse_scenario(scenario_text()))
    assert (run.accesses, run.duration_ns, run.sample_interval_ns) == (1_000_000, None, 10**8)


@pytest.mark.parametrize(
    ("nodes", "kbytes"),
    [
        ('[{memory = "1GiB"}]', 4096),  # int_sqrt(1048576 * 16)
        ('[{memory = "512MiB"}, {memory = "512MiB"}]', 4096),  # all nodes together
        ('[{memory = "16GiB"}]', 16384),
        ('[{memory = "1MiB"}]', 128),  # the floor
        ('[{memory = "8TiB"}]', 262144),  # the ceiling
    ],
)
def test_min_free_kbytes_defaults_to_the_kernel_formula(nodes: str, kbytes: int) -> None:
    machine, _ = to_config(parse_scenario(scenario_text(nodes=nodes)))
    assert machine.min_free_kbytes == kbytes


def test_a_file_named_by_two_processes_is_one_file_of_their_extent() -> None:
    text = scenario_text(
        region='kind = "file"\nfile = "db"\nsize = "1GiB"\npattern = "uniform"',
        tail="""
[[processes]]
name = "b"

[[processes.regions]]
kind = "file"
file = "db"
offset = "512MiB"
size = "1GiB"
pattern = "zipf"
""",
    )
    machine, _ = to_config(parse_scenario(text))
    assert machine.files == (FileConfig("db", 6 * 2**16),)
    assert [p.regions[0].file_offset for p in machine.processes] == [0, 2**17]


def test_scenarios_are_buildable_from_python() -> None:
    data = {
        "machine": {"nodes": [{"memory": 4096}]},
        "processes": [{"name": "p", "regions": [{"kind": "anon", "size": 10, "pattern": "uniform"}]}],
    }
    machine, _ = to_config(Scenario.model_validate(data))
    assert machine.processes[0].regions[0].pages == 10
    data["processes"][0]["node"] = 1
    with pytest.raises(ScenarioError, match=r"processes\[0\]\.node: node 1 does not exist"):
        Scenario.model_validate(data)


def test_json_schema_documents_the_keys() -> None:
    schema = json_schema()
    json.dumps(schema)
    machine = schema["$defs"]["Machine"]
    assert machine["additionalProperties"] is False
    assert "swappiness" in machine["properties"]["swappiness"]["description"]
    assert "zipf:ALPHA" in json.dumps(schema["$defs"]["Pattern"])


# --------------------------------------------------------------------------
# Bad scenarios: each message names the file, the key and the problem
# --------------------------------------------------------------------------

BAD = {
    "unknown-top-level-key": (
        scenario_text(tail="[bogus]\nx = 1"), "bogus", "unknown key; the keys here are: machine"
    ),
    "unknown-nested-key": (
        scenario_text(process="noed = 1"), "processes[0].noed", 'unknown key (did you mean "node"?)'
    ),
    "unknown-pattern-key": (
        scenario_text(region=ANON_REGION.replace('"uniform"', '{kind = "zipf", beta = 1}')),
        "processes[0].regions[0].pattern.beta",
        "unknown key",
    ),
    "wrong-type": (
        scenario_text(machine='swappiness = "high"'), "machine.swappiness", 'expected an integer, got "high"'
    ),
    "wrong-type-size": (
        scenario_text(region=ANON_REGION.replace('"1MiB"', "true")),
        "processes[0].regions[0].size",
        "expected a size",
    ),
    "negative-size": (
        scenario_text(region=ANON_REGION.replace('"1MiB"', '"-4GiB"')),
        "processes[0].regions[0].size",
        'must be positive, got "-4GiB"',
    ),
    "zero-memory": (
        scenario_text(nodes="[{memory = 0}]"), "machine.nodes[0].memory", "must be positive, got 0"
    ),
    "bad-unit": (
        scenario_text(region=ANON_REGION.replace('"1MiB"', '"1GB"')),
        "processes[0].regions[0].size",
        'unknown unit "GB" in "1GB"',
    ),
    "bad-duration": (
        scenario_text(process='start = "5 days"'), "processes[0].start", 'unknown unit "days"'
    ),
    "size-beyond-what-can-be-named": (
        scenario_text(region=ANON_REGION.replace('"1MiB"', '"32TiB"')),
        "processes[0].regions[0].size",
        "more than the simulator can name",
    ),
    "total-beyond-what-can-be-held": (
        scenario_text(tail='[[files]]\nname = "x"\nsize = "600GiB"\n[[files]]\nname = "y"\nsize = "600GiB"'),
        "files[1].size",
        "brings files and anon memory to 1200GiB, more than the simulator can hold",
    ),
    "no-such-node": (
        scenario_text(process="node = 2"),
        "processes[0].node",
        "node 2 does not exist (the machine has nodes 0-1)",
    ),
    "no-such-node-in-nodes": (
        scenario_text(process='mempolicy = "bind"\nnodes = [1, 5]'),
        "processes[0].nodes[1]",
        "node 5 does not exist",
    ),
    "nodes-with-local-mempolicy": (
        scenario_text(process="nodes = [1]"), "processes[0].nodes", 'applies to the "bind" and "interleave"'
    ),
    "distance-shape": (
        scenario_text(machine="distance = [[10, 20]]"), "machine.distance", "must have 2 rows, one per node"
    ),
    "distance-row": (
        scenario_text(machine="distance = [[10, 20], [20]]"), "machine.distance[1]", "must have 2 entries"
    ),
    "distance-diagonal": (
        scenario_text(machine="distance = [[10, 20], [20, 0]]"),
        "machine.distance[1][1]",
        "a node's distance to itself must be 10, got 0",
    ),
    "distance-remote": (
        scenario_text(machine="distance = [[10, 10], [20, 10]]"),
        "machine.distance[0][1]",
        "must be more than 10",
    ),
    "duplicate-process-names": (
        scenario_text(tail=f'[[processes]]\nname = "a"\n[[processes.regions]]\n{ANON_REGION}'),
        "processes[1].name",
        '"a" is already the name of processes[0]',
    ),
    "anon-rw": (
        scenario_text(region=ANON_REGION + 'access = "rw"'),
        "processes[0].regions[0].access",
        '"rw" (read()/write()) applies to file regions only',
    ),
    "file-region-without-file": (
        scenario_text(region=ANON_REGION.replace('"anon"', '"file"')),
        "processes[0].regions[0].file",
        "a file region needs the name of its file",
    ),
    "anon-region-with-file": (
        scenario_text(region=ANON_REGION + 'file = "x"'), "processes[0].regions[0].file", "file regions only"
    ),
    "region-outside-declared-file": (
        scenario_text(
            region='kind = "file"\nfile = "db"\noffset = "1MiB"\nsize = "1MiB"\npattern = "uniform"',
            tail='[[files]]\nname = "db"\nsize = "1536KiB"',
        ),
        "processes[0].regions[0].size",
        'offset + size (2MiB) runs past the end of file "db" (1536KiB, files[0])',
    ),
    "swappiness-out-of-range": (
        scenario_text(machine="swappiness = 201"), "machine.swappiness", "less than or equal to 200, got 201"
    ),
    "watermark-scale-factor-out-of-range": (
        scenario_text(machine="watermark_scale_factor = 0"),
        "machine.watermark_scale_factor",
        "greater than or equal to 1, got 0",
    ),
    "phase-without-duration": (
        scenario_text(
            region=ANON_REGION.replace('"uniform"', '{kind = "phases", phases = ["zipf", "uniform"]}')
        ),
        "processes[0].regions[0].pattern.phases[0].duration",
        "required for every phase but the last",
    ),
    "nested-phases": (
        scenario_text(
            region=ANON_REGION.replace('"uniform"', '{kind = "phases", phases = ["phases", "uniform"]}')
        ),
        "processes[0].regions[0].pattern.phases[0].kind",
        'must be "uniform", "zipf", "sequential", "loop" or "hotcold", got "phases"',
    ),
    "parameter-of-another-kind": (
        scenario_text(region=ANON_REGION.replace('"uniform"', '{kind = "uniform", alpha = 2.0}')),
        "processes[0].regions[0].pattern.alpha",
        "applies to a zipf pattern, not to a uniform one",
    ),
    "loop-larger-than-region": (
        scenario_text(region=ANON_REGION.replace('"uniform"', '{kind = "loop", loop_pages = "2MiB"}')),
        "processes[0].regions[0].pattern.loop_pages",
        "must not exceed the region (1MiB), got 2MiB",
    ),
    "unknown-pattern": (
        scenario_text(region=ANON_REGION.replace('"uniform"', '"zipff"')),
        "processes[0].regions[0].pattern.kind",
        'got "zipff"',
    ),
    "stop-before-start": (
        scenario_text(process='start = "2s"\nstop = "1s"'), "processes[0].stop", "must be after start (2s)"
    ),
    "missing-size": (
        scenario_text(region='kind = "anon"\npattern = "uniform"'),
        "processes[0].regions[0].size",
        "required, but missing",
    ),
}


@pytest.mark.parametrize(("text", "path", "problem"), BAD.values(), ids=BAD.keys())
def test_bad_scenario_names_the_key_and_the_problem(text: str, path: str, problem: str) -> None:
    with pytest.raises(ScenarioError) as err:
        parse_scenario(text, "bad.toml")
    message = str(err.value)
    assert any(
        line.startswith(f"bad.toml: {path}: ") and problem in line for line in message.splitlines()
    ), message
    assert "pydantic" not in message


def test_every_problem_gets_its_own_line() -> None:
    text = scenario_text(machine="swappiness = -1\nwatermark_scale_factor = 5000")
    with pytest.raises(ScenarioError) as err:
        parse_scenario(text, "bad.toml")
    paths = {line.split(": ")[1] for line in str(err.value).splitlines()}
    assert paths == {"machine.watermark_scale_factor", "machine.swappiness"}


def test_invalid_toml_names_the_line() -> None:
    with pytest.raises(ScenarioError) as err:
        parse_scenario('[machine]\nnodes = [{memory = "1GiB"}]\nswappiness 60\n', "bad.toml")
    assert str(err.value) == (
        "bad.toml: line 3, column 12: invalid TOML: Expected '=' after a key in a key/value pair"
    )


def test_missing_file(tmp_path) -> None:
    missing = tmp_path / "missing.toml"
    with pytest.raises(ScenarioError) as err:
        load_scenario(missing)
    assert str(err.value) == f"{missing}: cannot read: No such file or directory"


def test_load_scenario_reads_a_file(tmp_path) -> None:
    path = tmp_path / "my.toml"
    path.write_text(scenario_text(process="node = 1"))
    assert load_scenario(path).processes[0].node == 1


def test_names_with_quotes_and_escapes_round_trip() -> None:
    name = 'a "quoted" name\\with\ttab and é'
    scenario = Scenario.model_validate(
        {
            "machine": {"nodes": [{"memory": "1GiB"}]},
            "processes": [{"name": name, "regions": [{"kind": "anon", "size": 1, "pattern": "loop"}]}],
        }
    )
    again = parse_scenario(resolved_toml(scenario))
    assert again.processes[0].name == name
