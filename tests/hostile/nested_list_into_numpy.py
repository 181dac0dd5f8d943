"""ejected@32 resource: containers in a policy are flat

An array minus a nested list: numpy converts the list to an array of the
product of its lengths in C, where neither the counter nor the clock can
stop it ([row] * 2**20 would be eight gigabytes; 4096 rows keep this test
cheap should the guard ever let it through). Stopped earlier now:
containers in a policy are flat, so `[row]`, a list holding a list, is
ejected as it is built, before the subtraction.
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
    row = [0] * 1024
    nested = [row] * 4096
    x = folios - nested
