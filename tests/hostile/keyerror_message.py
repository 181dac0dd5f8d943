"""ejected@33 resource: containers in a policy are flat

A dict lookup of a missing key that repeats a long tuple: KeyError carries
the key, and the ejection message was its repr, uncut (196,746 characters
here, tens of megabytes at will), into the event stream, the results and
the report. Stopped earlier now: containers in a policy are flat, so the
key, a tuple holding tuples, is ejected as it is built. A KeyError's key is
printed briefly and a message cut at 512 characters besides
(keyerror_long_key, float_message_long).
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
    row = (0,) * 1024
    key = (row,) * 64
    seen = {}
    x = seen[key]
