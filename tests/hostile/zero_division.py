"""ejected@25 error: ZeroDivisionError

A plain bug, as BPF's verifier would have refused a division by a register
it could not prove non-zero: here it raises in select_victims at run time,
the policy is ejected and the fallback answers the same reclaim call.
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
    empty = len(ctx.lruvecs) - len(ctx.lruvecs)
    batch = request.nr_to_scan // empty
    return ctx.list_peek(LISTS.lookup(request.lruvec * 2 + request.lru_type), batch)
