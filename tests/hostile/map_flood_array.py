"""survives: an ArrayMap refuses indices past its size with E2BIG

Writing an ArrayMap past its last index, as a BPF array map refuses.
maps: SLOTS=16/16
state: inside=0, past_end=-7, negative=-7, delete=-22
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
SLOTS = ArrayMap(16)
CODES = ArrayMap(4)


def folio_accessed(ctx, folios):
    CODES.update(0, SLOTS.update(15, 1))
    for i in range(100):
        CODES.update(1, SLOTS.update(16 + i, 1))
    CODES.update(2, SLOTS.update(-1, 1))
    CODES.update(3, SLOTS.delete(0))


def policy_state(ctx):
    return {"inside": str(CODES.lookup(0)), "past_end": str(CODES.lookup(1)), "negative": str(CODES.lookup(2)),
            "delete": str(CODES.lookup(3))}
