"""ejected invalid: policy_state

policy_state answering a thousand entries of 64 Ki characters each, all one
string: 64 MB in the results, and 64 GiB with 2**20 keys, which the report
and `reclaim-ext run --json` write out. The answer check looked at types
only; it now takes at most 16 files of at most 64 KiB each.
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


def policy_state(ctx):
    text = "a" * 65536
    state = {}
    for i in range(1000):
        state[str(i)] = text
    return state
