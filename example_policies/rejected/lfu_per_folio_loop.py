"""Rejected: a loop bounded only by what the core asks for.

LFU written the obvious way: count every folio reclaim looks at, one by
one. The loop runs over ctx.list_peek(lst, request.nr_to_scan), and
nr_to_scan is whatever the core asks (a whole lruvec at a low priority),
so the verifier cannot bound the loop. Cap it with a constant:
ctx.list_peek(lst, min(request.nr_to_scan, 1024)), as example_policies/lfu.py
does.
"""

INTERFACE_VERSION = (1, 2)

LISTS = ArrayMap(1)


def policy_init(ctx):
    LISTS.update(0, ctx.list_create(ctx.lruvecs[0], LRU_FILE, False, "lfu"))


def folio_added(ctx, folios):
    ctx.list_add(LISTS.lookup(0), folios)


def folio_accessed(ctx, folios):
    ctx.folio_set_data(folios, ctx.folio_data(folios) + 1)


def select_victims(ctx, request):
    lst = LISTS.lookup(0)
    victims = ctx.list_peek(lst, 0)
    for folio in ctx.list_peek(lst, request.nr_to_scan):
        if ctx.folio_data(folio) == 0:
            victims = victims + [folio]
    return victims
