"""ejected@31 resource: containers in a policy are flat

Two equal nested lists compared: CPython compares them item by item in C,
the shared row once per reference. With 2**20 references to a 2**20-item row
each, 10**12 comparisons; 8192 rows here (twice what a comparison may
touch) keep the test cheap should the guard let it through. Stopped earlier
now: containers in a policy are flat, so the first nested list, a list
holding a list, is ejected as it is built, before the comparison.
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


def folio_accessed(ctx, folios):
    a = [[0] * 1024] * 8192
    b = [[0] * 1024] * 8192
    same = a == b
