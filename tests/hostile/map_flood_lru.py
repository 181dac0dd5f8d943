"""survives: a full LruHashMap evicts its oldest entry

Flooding an LRU hash map: like BPF_MAP_TYPE_LRU_HASH it evicts its least
recently used entry for each new key and never refuses one.
maps: FLOOD=64/64
state: last_update=0, oldest_found=False, newest_found=True
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
FLOOD = LruHashMap(64)
CODES = ArrayMap(2)


def folio_accessed(ctx, folios):
    base = ctx.now() * 1000
    for i in range(100):
        CODES.update(0, FLOOD.update(base + i, i))
    CODES.update(1, base)


def policy_state(ctx):
    base = CODES.lookup(1)
    return {"last_update": str(CODES.lookup(0)), "oldest_found": str(FLOOD.lookup(base) is not None),
            "newest_found": str(FLOOD.lookup(base + 99) is not None)}
