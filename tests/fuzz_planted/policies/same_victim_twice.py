"""Planted bug: a file victim named twice.

FIFO, except that reclaim of file pages names its oldest folio twice in
the same answer. Only a scenario with file pages under pressure shows it.
The sandbox's answer check ejects the policy (the fuzzer reports
policy-ejected); without that check the clean folio would be freed twice
(double-eviction).
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


def select_victims(ctx, request):
    oldest = ctx.list_peek(LISTS.lookup(request.lruvec * 2 + request.lru_type), request.nr_to_scan)
    if request.lru_type == LRU_FILE and len(oldest) > 1:
        oldest[1] = oldest[0]
    return oldest
