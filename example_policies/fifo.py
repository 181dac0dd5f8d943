"""FIFO: folios leave memory in the order they came in.

One list per lruvec and type. A new folio goes to the head; reclaim takes
the oldest from the tail; using a folio changes nothing. The oldest
replacement policy there is, and the floor any other should beat on a
trace with reuse; libCacheSim's FIFO.c, whose miss counts it matches in
exact cache mode (tests/test_replay_libcachesim.py).

Hooks: policy_init, folio_added, select_victims, folio_putback.
Helpers: list_create, list_add, list_peek, folio_lruvec, folio_type.
"""

INTERFACE_VERSION = (1, 2)

MAX_LRUVECS = 64

# the list of each (lruvec, type), keyed lruvec * 2 + type
LISTS = ArrayMap(MAX_LRUVECS * 2)


def policy_init(ctx):
    for i in range(min(len(ctx.lruvecs), MAX_LRUVECS)):
        lruvec = ctx.lruvecs[i]
        for lru_type in LRU_TYPES:
            LISTS.update(lruvec * 2 + lru_type, ctx.list_create(lruvec, lru_type, False, "fifo"))


def add(ctx, folios, tail):
    """Each folio to the head (or the tail) of its lruvec's and type's list;
    in one call when the batch is all of one list, as it almost always is."""
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


def select_victims(ctx, request):
    return ctx.list_peek(LISTS.lookup(request.lruvec * 2 + request.lru_type), request.nr_to_scan)


def folio_putback(ctx, folios, reasons):
    """What reclaim could not free keeps its place in line at the head; a
    folio whose writeback ended goes to the tail, to be freed next."""
    rotate = reasons == PutbackReason.ROTATE
    add(ctx, folios[~rotate], False)
    add(ctx, folios[rotate], True)
