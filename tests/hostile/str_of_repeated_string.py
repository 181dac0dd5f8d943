"""ejected@35 resource: str(): more items than a policy may print

str() of a list that repeats one long string: the + and * guards bound
every string a policy builds to 64 Ki characters and every list to 2**20
items, but str() of [s] * 2**20 with s of 64 Ki is a 64 GiB string built in
C. 64 items here (a 4 MiB string, 64 times the limit) keep the test cheap.
str() is weighed now: a container prints at most 64 Ki items and
characters, a shared string counted each time it is printed.
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
        text = str([s] * 64)
        ctx.trace(text)
