"""Planted bug: anon memory is never reclaimed.

FIFO for file pages; for anon, should_reclaim asks the core to scan none,
so no anon page ever goes to swap. Once the file pages are gone, the
allocator finds nothing to reclaim and the OOM killer runs although swap
has room for the anon pages: the unjustified-OOM oracle must say so.
Every answer is valid, so the sandbox has nothing to eject.
"""

INTERFACE_VERSION = (1, 2)

MAX_LRUVECS = 64
LISTS = ArrayMap(MAX_LRUVECS * 2)


def policy_init(ctx):
    for i in range(min(len(ctx.lruvecs), MAX_LRUVECS)):
        lruvec = ctx.lruvecs[i]
        for lru_type in LRU_TYPES:
            LISTS.update(lruvec * 2 + lru_type, ctx.list_create(lruvec, lru_type, False, "fifo"))


def add(ctx, folios):
    keys = ctx.folio_lruvec(folios) * 2 + ctx.folio_type(folios)
    for i in range(min(len(ctx.lruvecs), MAX_LRUVECS)):
        for lru_type in LRU_TYPES:
            key = ctx.lruvecs[i] * 2 + lru_type
            ctx.list_add(LISTS.lookup(key), folios[keys == key])


def folio_added(ctx, folios):
    add(ctx, folios)


def folio_putback(ctx, folios, reasons):
    add(ctx, folios)


def should_reclaim(ctx, request):
    files = ctx.list_len(LISTS.lookup(request.lruvec * 2 + LRU_FILE))
    return ScanDecision((0, files >> request.priority))


def select_victims(ctx, request):
    return ctx.list_peek(LISTS.lookup(request.lruvec * 2 + request.lru_type), request.nr_to_scan)
