"""ejected@37 resource: max(): a comparison of more items than

max() of two flat lists that repeat two distinct but equal long strings:
CPython compares the lists item by item in C and each pair of strings
character by character (not the same object, so no shortcut). With 2**20
items each, 64 G character comparisons in 16 MB of memory; 64 items here
(twice what one comparison may touch) keep the test cheap.
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
    return ctx.list_peek(LISTS.lookup(request.lruvec * 2 + request.lru_type), min(request.nr_to_scan, 1024))
DONE = ArrayMap(1)


def folio_accessed(ctx, folios):
    if DONE.lookup(0) == 0:
        DONE.update(0, 1)
        s = "a" * 65536
        t = "a" * 65536
        a = [s] * 64
        b = [t] * 64
        bigger = max(a, b)
