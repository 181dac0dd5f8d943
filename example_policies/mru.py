"""MRU: evict the folio used most recently.

The right policy for a loop over a file larger than memory, where LRU
misses every time: the folio just used is the one needed last. One list
per lruvec and type in order of last use, as in example:lru, but reclaim
takes from the head (Chou and DeWitt's DBMIN, VLDB'85, uses MRU for
looping sequential scans). The newest folio is evicted before the one it
replaces comes in, so the memory keeps the start of the loop.

Accesses through a mapping are seen only when reclaim looks (the accessed
bit), so in the simulated machine this orders mapped folios by when they
came in; in exact cache mode it is exact MRU.

Hooks: policy_init, folio_added, folio_accessed, select_victims,
folio_putback. Helpers: list_create, list_add, list_peek, folio_lruvec,
folio_type.
"""

INTERFACE_VERSION = (1, 2)

MAX_LRUVECS = 64

# the list of each (lruvec, type), keyed lruvec * 2 + type
LISTS = ArrayMap(MAX_LRUVECS * 2)


def policy_init(ctx):
    for i in range(min(len(ctx.lruvecs), MAX_LRUVECS)):
        lruvec = ctx.lruvecs[i]
        for lru_type in LRU_TYPES:
            LISTS.update(lruvec * 2 + lru_type, ctx.list_create(lruvec, lru_type, False, "mru"))


def add(ctx, folios, tail):
    """Each folio to the head (or the tail) of its lruvec's and type's list,
    one after another; in one call when the batch is all of one list."""
    if len(folios) == 0:
        return
    keys = ctx.folio_lruvec(folios) * 2 + ctx.folio_type(folios)
    if len(folios[keys != keys[0]]) == 0:
        ctx.list_add(LISTS.lookup(keys[0]), folios, tail)
        return
    for i in range(min(len(ctx.lruvecs), MAX_LRUVECS)):
        for lru_type in LRU_TYPES:
            key = ctx.lruvecs[i] * 2 + lru_type
            ctx.list_add(LISTS.lookup(key), folios[keys == key], tail)


def folio_added(ctx, folios):
    add(ctx, folios, False)


def folio_accessed(ctx, folios):
    add(ctx, folios, False)


def select_victims(ctx, request):
    return ctx.list_peek(LISTS.lookup(request.lruvec * 2 + request.lru_type), request.nr_to_scan, False)


def folio_putback(ctx, folios, reasons):
    """What reclaim could not free, and a folio whose writeback ended,
    go to the tail: the head is where victims come from."""
    add(ctx, folios, True)
