"""survives: a state file named scenario.toml

policy_state naming its file after one the results directory holds
(scenario.toml, node0). `reclaim-ext run --out DIR` writes the policy's
files into DIR/policy/, a directory of their own, so no name a policy
picks replaces the scenario later commands read back; a name with a path
is refused by the answer check.
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
    return {"scenario.toml": "forged = true\n"}
