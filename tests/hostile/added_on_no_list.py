"""ejected invalid: left on no list

folio_added that puts the new folios on no list: resident memory nothing
could ever reclaim.
"""
INTERFACE_VERSION = (1, 1)
LISTS = ArrayMap(128)


def policy_init(ctx):
    for i in range(min(len(ctx.lruvecs), 64)):
        for lru_type in LRU_TYPES:
            LISTS.update(ctx.lruvecs[i] * 2 + lru_type, ctx.list_create(ctx.lruvecs[i], lru_type, False, "fifo"))


def folio_added(ctx, folios):
    pass


def select_victims(ctx, request):
    return ctx.list_peek(LISTS.lookup(request.lruvec * 2 + request.lru_type), min(request.nr_to_scan, 1024))
