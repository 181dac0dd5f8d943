"""ejected@36 resource: containers in a policy are flat

A tuple that repeats a tuple that repeats a row, used as a dict key: the
hash of a tuple is not cached, so CPython hashes every reference again, in
C. Four levels of 1024 are 10**12 hashes that neither the counter nor the
clock can interrupt; 8 million here (twice what a comparison may touch)
keep the test cheap. Stopped earlier now: containers in a policy are flat,
so the key, a tuple holding tuples, is ejected as it is built; and a dict's
keys are numbers and strings, never a tuple, besides.
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
        row = (0,) * 1024
        key = (row,) * 8192
        seen = {}
        seen[key] = 1
