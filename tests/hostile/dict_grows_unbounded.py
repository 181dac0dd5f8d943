"""rejected@34: cannot bound this loop

A loop over a local dict the verifier bounds by its literal ({}: no items),
after item assignments grew it to 100,000 keys: nested, it would run ten
billion times; the back-edge counter stopped it at a million. Refused by
the verifier now: a loop over a list or dict that item assignments grow
has no bound it can see.
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
    seen = {}
    for i in range(100000):
        seen[i] = 1
    n = 0
    for a in seen:
        for b in seen:
            n += 1
