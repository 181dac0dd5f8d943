"""ejected@35 resource: containers in a policy are flat

Two equal nested lists compared by max(), a builtin: the comparison runs
in C as == does, but no _compare_ guard sees it. With 2**20 references to
a 2**20-item row on each side, 10**12 comparisons that neither the counter
nor the clock can interrupt; 8192 rows here (twice what one comparison may
touch) keep the test cheap. Stopped earlier now: containers in a policy are
flat, so the first nested list is ejected as it is built; max() of flat
lists is weighed as a comparison is (max_of_long_strings).
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
        a = [[0] * 1024] * 8192
        b = [[0] * 1024] * 8192
        bigger = max(a, b)
