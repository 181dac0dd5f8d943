"""ejected@33 error: a range holds ints only

None in range(n) cannot use range's arithmetic test: CPython walks every
number of the range in C, and for range(10**18) never returns. None is a
literal, and a comparison with a literal operand may stay plain (x == 0),
but not this one: `in` and `not in` now always go through _compare_, which
refuses a range anything but an int. 10**7 here keeps the test cheap.
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
        found = None in range(10 ** 7)
