"""ejected@26 helper: is not one of the lruvecs this policy serves

walk_mm on an lruvec the machine does not have.
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
    young = ctx.walk_mm(99)
