"""survives: keys a map cannot hold are EINVAL

Keys that are not ints or short tuples of ints (a list of floats, a float,
an array, five ints, a string) answer EINVAL, as a BPF map refuses a key of
the wrong size; a lookup finds nothing. A map never holds a reference to a
policy's object.
maps: KEYED=1/8
state: float_list=-22, float=-22, array=-22, five_ints=-22, text=-22, lookup=missing, good=0
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
KEYED = HashMap(8)
CODES = ArrayMap(8)


def folio_accessed(ctx, folios):
    CODES.update(0, KEYED.update([0.5, 1.5], 1))
    CODES.update(1, KEYED.update(0.5, 1))
    CODES.update(2, KEYED.update(folios, 1))
    CODES.update(3, KEYED.update((1, 2, 3, 4, 5), 1))
    CODES.update(4, KEYED.update("folio", 1))
    CODES.update(5, KEYED.update((1, 2), 1))


def policy_state(ctx):
    return {"float_list": str(CODES.lookup(0)), "float": str(CODES.lookup(1)), "array": str(CODES.lookup(2)),
            "five_ints": str(CODES.lookup(3)), "text": str(CODES.lookup(4)),
            "lookup": str(KEYED.lookup([0.5, 1.5], "missing")), "good": str(CODES.lookup(5))}
