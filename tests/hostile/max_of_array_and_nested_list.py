"""ejected@34 resource: containers in a policy are flat

max() of a batch and a nested list: numpy converts the list to an array in
C before it fails to compare them, and no guard sees the comparison (min()
and divmod() reach numpy the same way). With [[0] * 1024] * 2**20, eight
gigabytes; 8192 rows here keep the test cheap. Stopped earlier now:
containers in a policy are flat, so the nested list is ejected as it is
built; max(), min() and divmod() also refuse a list next to an array.
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
        nested = [[0] * 1024] * 8192
        bigger = max(folios, nested)
