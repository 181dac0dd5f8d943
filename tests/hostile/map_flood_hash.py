"""survives: a full HashMap answers E2BIG

Flooding a map with new keys on every access: a BPF hash map is full at its
declared size and refuses new keys with E2BIG. That is not misbehaviour and
must not eject; the map stays at its size.
maps: FLOOD=64/64
state: last_update=-7, first_update=0
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
FLOOD = HashMap(64)
CODES = ArrayMap(2)


def folio_accessed(ctx, folios):
    base = ctx.now() * 1000
    for i in range(100):
        code = FLOOD.update(base + i, i)
        if CODES.lookup(1) == 0:
            CODES.update(1, code + 1000)
        CODES.update(0, code)


def policy_state(ctx):
    return {"last_update": str(CODES.lookup(0)), "first_update": str(CODES.lookup(1) - 1000)}
