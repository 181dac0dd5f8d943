"""simulator.psi: memory pressure stall information like kernel/sched/psi.c.

Expected averages are worked out here from the kernel's own fixed-point rule
(calc_load in include/linux/sched/loadavg.h, EXP_* in psi.c), written out
again rather than imported, so a slip in the module does not hide itself.
"""

from __future__ import annotations

import math

from simulator.psi import PsiGroup, format_pressure

S = 1_000_000_000  # ns
ZERO_TEXT = ("some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"
             "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n")


def kernel_avg(pcts: list[int], exp: int) -> int:
    """avg after one calc_load per 2 s period: a = (a*e + p*(2048-e)
    [+ 2047 while rising]) / 2048, p = pct * 2048."""
    a = 0
    for pct in pcts:
        p = pct * 2048
        new = a * exp + p * (2048 - exp)
        if p >= a:
            new += 2047
        a = new // 2048
    return a


def test_zero_stalls_give_zero_everywhere():
    g = PsiGroup("machine")
    g.task_start(1, 0)
    g.task_start(2, 0)
    snap = g.snapshot(10 * S)
    assert all(v == 0 for v in snap.values())
    assert set(snap) == {"some_total_us", "full_total_us", "some_avg10", "some_avg60",
                         "some_avg300", "full_avg10", "full_avg60", "full_avg300"}
    assert format_pressure(snap) == ZERO_TEXT
    assert format_pressure(PsiGroup("empty").snapshot(0)) == ZERO_TEXT


def test_one_task_stalled_one_second_of_ten():
    g = PsiGroup("machine")
    g.task_start(1, 0)
    g.task_stall(1, 0, 1 * S)
    snap = g.snapshot(10 * S)
    assert snap["some_total_us"] == 1_000_000
    # One non-idle task: all of it is stalled whenever it is, so full == some.
    assert snap["full_total_us"] == 1_000_000
    # Periods [0,2) [2,4) ... [8,10): 50% then four of 0%.
    pcts = [50, 0, 0, 0, 0]
    for window, exp in (("avg10", 1677), ("avg60", 1981), ("avg300", 2034)):
        expected = kernel_avg(pcts, exp) / 2048
        assert snap[f"some_{window}"] == expected
        assert snap[f"full_{window}"] == expected
    # By hand: 50*2048*371 = 37990400, +2047, /2048 -> 18550; then *1677//2048
    # four times.
    a = 18550
    for _ in range(4):
        a = a * 1677 // 2048
    assert snap["some_avg10"] == a / 2048
    # And close to the real-valued decay 50% * (1 - e^-0.2) * e^-0.8.
    assert math.isclose(snap["some_avg10"], 50 * (1 - math.exp(-0.2)) * math.exp(-0.8),
                        abs_tol=0.02)


def test_averages_only_for_whole_periods():
    g = PsiGroup("machine")
    g.task_start(1, 0)
    g.task_stall(1, 0, 1 * S)
    early = g.snapshot(2 * S - 1)
    # The first period has not ended: total counts, averages not yet.
    assert early["some_total_us"] == 1_000_000
    assert early["some_avg10"] == 0
    assert g.snapshot(2 * S)["some_avg10"] == kernel_avg([50], 1677) / 2048


def test_total_includes_the_period_in_progress():
    g = PsiGroup("machine")
    g.task_start(1, 0)
    g.task_stall(1, 3 * S, 5 * S)
    assert g.snapshot(4 * S)["some_total_us"] == 1_000_000
    assert g.snapshot(6 * S)["some_total_us"] == 2_000_000


def test_two_tasks_some_is_union_full_is_intersection():
    g = PsiGroup("machine")
    g.task_start(1, 0)
    g.task_start(2, 0)
    g.task_stall(1, 1 * S, 3 * S)
    g.task_stall(2, 2 * S, 5 * S)
    snap = g.snapshot(10 * S)
    assert snap["some_total_us"] == 4_000_000  # [1, 5)
    assert snap["full_total_us"] == 1_000_000  # [2, 3)
    # Per period: some [1,2)->50 [2,4)->100 [4,6)->50; full [2,3) -> 50.
    assert snap["some_avg10"] == kernel_avg([50, 100, 50, 0, 0], 1677) / 2048
    assert snap["full_avg10"] == kernel_avg([0, 50, 0, 0, 0], 1677) / 2048


def test_non_idle_task_not_stalled_prevents_full():
    g = PsiGroup("machine")
    g.task_start(1, 0)
    g.task_start(2, 0)
    g.task_stall(1, 0, 2 * S)
    snap = g.snapshot(4 * S)
    assert snap["some_total_us"] == 2_000_000
    assert snap["full_total_us"] == 0
    assert snap["full_avg10"] == 0

    # Once the productive task exits, the stalled one is all there is.
    g = PsiGroup("machine")
    g.task_alive(1, 0, None)
    g.task_alive(2, 0, 1 * S)
    g.task_stall(1, 0, 2 * S)
    snap = g.snapshot(4 * S)
    assert snap["some_total_us"] == 2_000_000
    assert snap["full_total_us"] == 1_000_000


def test_idle_task_does_not_prevent_full():
    g = PsiGroup("machine")
    g.task_alive(1, 0, None)
    g.task_alive(2, 3 * S, None)  # not started yet during the stall
    g.task_stall(1, 0, 2 * S)
    assert g.snapshot(4 * S)["full_total_us"] == 2_000_000


def test_stall_makes_an_unknown_task_non_idle():
    # No task_start: the stall is the task's first activity.
    g = PsiGroup("machine")
    g.task_stall(7, 1 * S, 2 * S)
    snap = g.snapshot(4 * S)
    assert snap["some_total_us"] == snap["full_total_us"] == 1_000_000


def test_out_of_order_reports_across_tasks():
    def run(order: list[tuple[int, int, int]]) -> dict:
        g = PsiGroup("machine")
        g.task_start(1, 0)
        g.task_start(2, 0)
        g.task_start(3, 0)
        for pid, lo, hi in order:
            g.task_stall(pid, lo, hi)
        return g.snapshot(12 * S)

    stalls = [(1, 1 * S, 4 * S), (2, 2 * S, 6 * S), (3, 3 * S, 5 * S),
              (1, 5 * S, 7 * S)]
    in_order = run(stalls)
    assert in_order["some_total_us"] == 6_000_000  # [1, 7)
    assert in_order["full_total_us"] == 1_000_000  # [3, 4)
    assert run([stalls[2], stalls[1], stalls[0], stalls[3]]) == in_order
    # Task 1 runs ahead and reports both of its stalls first.
    assert run([stalls[0], stalls[3], stalls[2], stalls[1]]) == in_order


def test_late_report_after_a_snapshot_keeps_totals_exact():
    g = PsiGroup("machine")
    g.task_start(1, 0)
    g.task_start(2, 0)
    g.task_stall(2, 2 * S, 5 * S)
    g.snapshot(4 * S)  # folds [0,2) and [2,4) before task 1's stall is known
    g.task_stall(1, 1 * S, 3 * S)
    snap = g.snapshot(6 * S)
    assert snap["some_total_us"] == 4_000_000
    assert snap["full_total_us"] == 1_000_000
    # The late time reaches the averages in the next period, as the kernel
    # does with time that slips across a period.
    assert snap["full_avg10"] == kernel_avg([0, 0, 50], 1677) / 2048


def test_one_task_touching_and_overlapping_stalls_count_once():
    g = PsiGroup("machine")
    g.task_start(1, 0)
    g.task_stall(1, 0, 1 * S)
    g.task_stall(1, 1 * S, 2 * S)  # touches
    g.task_stall(1, 1 * S + S // 2, 3 * S)  # overlaps its previous one
    snap = g.snapshot(4 * S)
    assert snap["some_total_us"] == 3_000_000


def test_averages_decay_after_the_stall_ends():
    g = PsiGroup("machine")
    g.task_start(1, 0)
    g.task_stall(1, 0, 10 * S)
    prev = g.snapshot(10 * S)
    assert prev["some_avg10"] > prev["some_avg60"] > prev["some_avg300"] > 0
    for t in range(12, 60, 2):
        snap = g.snapshot(t * S)
        for window in ("avg10", "avg60", "avg300"):
            assert snap[f"some_{window}"] < prev[f"some_{window}"]
        assert snap["some_total_us"] == 10_000_000
        prev = snap
    # The short window forgets faster than the long ones.
    assert snap["some_avg10"] < snap["some_avg60"]
    assert snap["some_avg10"] == kernel_avg([100] * 5 + [0] * 24, 1677) / 2048


def test_sustained_full_stall_reaches_exactly_100():
    # calc_load's round-up while rising lets the average reach 100.00.
    g = PsiGroup("machine")
    g.task_start(1, 0)
    g.task_stall(1, 0, 400 * S)
    snap = g.snapshot(200 * S)
    assert snap["some_avg10"] == 100.0
    assert format_pressure(snap).startswith("some avg10=100.00 ")


def test_proc_pressure_memory_text():
    g = PsiGroup("machine")
    g.task_start(1, 0)
    g.task_start(2, 0)
    g.task_stall(1, 0, 1 * S)
    text = format_pressure(g.snapshot(2 * S))
    # avg10 = 18550/2048 = 9.0576 -> 9.05 (truncated, LOAD_FRAC);
    # avg60 = (50*2048*67 + 2047)//2048 = 3350 -> 1.63;
    # avg300 = (50*2048*14 + 2047)//2048 = 700 -> 0.34.
    assert text == ("some avg10=9.05 avg60=1.63 avg300=0.34 total=1000000\n"
                    "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n")
    # total in us, truncated from ns.
    g = PsiGroup("machine")
    g.task_stall(1, 0, 1999)
    assert format_pressure(g.snapshot(S)).splitlines()[0].endswith(" total=1")


def test_groups_are_independent():
    machine, a, b = PsiGroup("machine"), PsiGroup("a"), PsiGroup("b")
    for group, pid in ((machine, 1), (a, 1), (machine, 2), (b, 2)):
        group.task_start(pid, 0)
    for group in (machine, a):
        group.task_stall(1, 0, 1 * S)
    assert machine.snapshot(2 * S)["full_total_us"] == 0  # task 2 productive
    assert a.snapshot(2 * S)["full_total_us"] == 1_000_000
    assert b.snapshot(2 * S)["some_total_us"] == 0


def test_history_is_pruned_and_stays_correct():
    g = PsiGroup("machine", history_ns=10 * S)
    g.task_start(1, 0)
    g.task_start(2, 0)
    for k in range(200):
        g.task_stall(1, k * S, k * S + S // 4)
        g.task_stall(2, k * S + S // 8, k * S + S // 2)
        g.snapshot(k * S)
    snap = g.snapshot(200 * S)
    assert snap["some_total_us"] == 200 * 500_000
    assert snap["full_total_us"] == 200 * 125_000
    assert len(g._t) < 200
