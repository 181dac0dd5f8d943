"""ejected@35 resource: containers in a policy are flat

The doubling attack, built at run time: a = [x, x], b = [a, a], then
b = [b, b] 62 times is a list of 2**64 leaves in 64 small lists, each a
display of two names the verifier cannot see through; == (or str(), or
numpy's conversion) walks every leaf in C. The runtime refuses the first
list that holds a list.
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
        x = len(folios)
        a = [x, x]
        b = [a, a]
        for i in range(62):
            b = [b, b]
        same = b == b
