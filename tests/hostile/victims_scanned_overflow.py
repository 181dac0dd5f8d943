"""ejected invalid: select_victims:

Victims claiming 2**62 folios scanned (any int64 passes the answer check):
the core adds it to pgscan, an int64 counter, and charges 2**62 scans of
CPU time. Two such answers wrap the counter negative (pgsteal exceeds
pgscan: an InvariantError) and overflow the virtual clock (an OverflowError
out of run(), not RunFailed); under -W error the first already raises.
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
    oldest = ctx.list_peek(LISTS.lookup(request.lruvec * 2 + request.lru_type), min(request.nr_to_scan, 1024))
    return Victims(oldest, 1 << 62)
