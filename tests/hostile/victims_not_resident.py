"""ejected invalid: is not resident

A victim that already left memory (the policy remembers a folio from
folio_evicted and names it again): there is nothing to free.
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
GONE = ArrayMap(1)


def folio_evicted(ctx, folios):
    GONE.update(0, folios[0] + 1)
    return None


def select_victims(ctx, request):
    gone = GONE.lookup(0) - 1
    if gone >= 0 and ctx.folio_lruvec(gone) < 0:
        return [gone]
    return ctx.list_peek(LISTS.lookup(request.lruvec * 2 + request.lru_type), min(request.nr_to_scan, 1024))
