"""ejected helper: folio_set_flags

A policy flag set on a folio that is not in memory (at policy_init nothing
is): the sandbox checks only that the id is in range, and the core keeps
the flag on a page it does not hold, which its invariants forbid.
"""
INTERFACE_VERSION = (1, 1)
LISTS = ArrayMap(128)


def policy_init(ctx):
    ctx.folio_set_flags(0, PG_policy0)
    for i in range(min(len(ctx.lruvecs), 64)):
        for lru_type in LRU_TYPES:
            LISTS.update(ctx.lruvecs[i] * 2 + lru_type, ctx.list_create(ctx.lruvecs[i], lru_type, False, "fifo"))


def folio_added(ctx, folios):
    keys = ctx.folio_lruvec(folios) * 2 + ctx.folio_type(folios)
    for key in range(min(len(ctx.lruvecs), 64) * 2):
        ctx.list_add(LISTS.lookup(key), folios[keys == key])


def select_victims(ctx, request):
    return ctx.list_peek(LISTS.lookup(request.lruvec * 2 + request.lru_type), min(request.nr_to_scan, 1024))
