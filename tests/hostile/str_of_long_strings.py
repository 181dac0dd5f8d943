"""ejected@34 resource: str(): more items than a policy may print

str() of a flat list of distinct long strings: each string is within the
64 Ki limit, the list within 2**20 items, and the list is flat, but str()
of 2**20 such strings is 64 GiB built in C. Two here (128 Ki characters,
twice the limit) keep the test cheap.
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
        t = "b" * 65536
        text = str([s, t])
        ctx.trace(text)
