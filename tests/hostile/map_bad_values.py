"""survives: values a map cannot hold are EINVAL

Values that are not numbers or short tuples of numbers (a list, an array,
nine items, a tuple holding an array, a tuple holding a string, a string,
None) answer EINVAL: nothing a policy stores can alias an object or grow
behind the map's back. (A nested tuple, once among them, no longer
verifies: containers in a policy are flat.)
maps: VALUES=1/8
state: list=-22, array=-22, nine=-22, holds_array=-22, holds_text=-22, text=-22, none=-22, good=0
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
VALUES = HashMap(8)
CODES = ArrayMap(8)


def folio_accessed(ctx, folios):
    CODES.update(0, VALUES.update(1, [1]))
    CODES.update(1, VALUES.update(1, folios))
    CODES.update(2, VALUES.update(1, (0, 0, 0, 0, 0, 0, 0, 0, 0)))
    CODES.update(3, VALUES.update(1, (1, folios)))
    CODES.update(4, VALUES.update(1, (1, "folio")))
    CODES.update(5, VALUES.update(1, "folio"))
    CODES.update(6, VALUES.update(1, None))
    CODES.update(7, VALUES.update(2, (1, 2.5, True)))


def policy_state(ctx):
    return {"list": str(CODES.lookup(0)), "array": str(CODES.lookup(1)), "nine": str(CODES.lookup(2)),
            "holds_array": str(CODES.lookup(3)), "holds_text": str(CODES.lookup(4)), "text": str(CODES.lookup(5)),
            "none": str(CODES.lookup(6)), "good": str(CODES.lookup(7))}
