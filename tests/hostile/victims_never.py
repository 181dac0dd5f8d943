"""ejected stall: select_victims gave no victims

A policy that takes every folio onto its lists and never gives one back:
each answer is valid (no victims), but reclaim makes no progress and the
machine swaps or thrashes forever. The core's stall watchdog (sched_ext's,
for reclaim) ejects it once it has been offered every folio of a list four
times over.
"""
INTERFACE_VERSION = (1, 1)
LISTS = ArrayMap(128)


def policy_init(ctx):
    for i in range(min(len(ctx.lruvecs), 64)):
        for lru_type in LRU_TYPES:
            LISTS.update(ctx.lruvecs[i] * 2 + lru_type, ctx.list_create(ctx.lruvecs[i], lru_type, False, "fifo"))


def folio_added(ctx, folios):
    keys = ctx.folio_lruvec(folios) * 2 + ctx.folio_type(folios)
    for key in range(min(len(ctx.lruvecs), 64) * 2):
        ctx.list_add(LISTS.lookup(key), folios[keys == key])


def select_victims(ctx, request):
    return []
