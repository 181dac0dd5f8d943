"""Rejected: a victim search that calls itself.

This policy looks for a victim in the oldest folios and, when all of them
were used, calls itself to look again. Recursion has no bound the verifier
can see (BPF forbids it too: each call needs a stack frame, and the
verifier must know how many). Write the search as a loop with a constant
bound, or look at a larger batch at once.
"""

INTERFACE_VERSION = (1, 2)

LISTS = ArrayMap(1)


def policy_init(ctx):
    LISTS.update(0, ctx.list_create(ctx.lruvecs[0], LRU_FILE, False, "lru"))


def folio_added(ctx, folios):
    ctx.list_add(LISTS.lookup(0), folios)


def find_victims(ctx, lst, nr):
    oldest = ctx.list_peek(lst, nr)
    unused = oldest[ctx.folio_referenced(oldest) == 0]
    if len(unused) > 0:
        return unused
    ctx.list_add(lst, oldest)
    return find_victims(ctx, lst, nr)


def select_victims(ctx, request):
    return find_victims(ctx, LISTS.lookup(0), request.nr_to_scan)
