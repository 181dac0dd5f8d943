"""rejected@39: on_refault is a hook: hooks are called by the core

A loop the verifier bounds at 4096 because it runs over a field of
on_refault's refault batch; but the policy calls on_refault itself, with a
Victims holding a million-item list as its refault (the verifier did not
look at where a hook's batch-field parameter comes from). The back-edge
counter, BPF's may_goto, stopped it at a million iterations. Refused by the
verifier now: a policy may not call its own hooks, so a hook's parameters
are always what the core passes.
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


def on_refault(ctx, folios, refault):
    n = 0
    for item in refault.folios:
        n += 1
    return None


def folio_accessed(ctx, folios):
    on_refault(ctx, folios, Victims([0] * (1 << 20), 0))
