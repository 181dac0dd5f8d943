"""Rejected: random eviction that imports Python's random module.

A policy cannot import anything: its module is verified source, not Python
with the standard library behind it (a BPF program cannot call libc
either). The context has what a policy may use: ctx.random() is a
deterministic random number from the run's seed, so that a run stays
reproducible, which random.random() would not be.
"""

import random

INTERFACE_VERSION = (1, 2)

LISTS = ArrayMap(1)


def policy_init(ctx):
    LISTS.update(0, ctx.list_create(ctx.lruvecs[0], LRU_FILE, False, "random"))


def folio_added(ctx, folios):
    ctx.list_add(LISTS.lookup(0), folios, random.random() < 0.5)


def select_victims(ctx, request):
    return ctx.list_peek(LISTS.lookup(0), request.nr_to_scan)
