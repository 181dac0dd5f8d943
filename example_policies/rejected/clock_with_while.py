"""Rejected: CLOCK whose hand is a while loop.

The natural way to write a clock hand, "look at the oldest folio until one
was not used", has no bound the verifier can see: with every folio used,
it would circle for ever, as an unbounded loop in a BPF program would. The
verifier refuses `while`. The fix is example_policies/clock.py: look at a
bounded batch of the oldest folios (ctx.list_peek(lst, N)), vectorised.
"""

INTERFACE_VERSION = (1, 2)

REFERENCED = PG_policy0
LISTS = ArrayMap(1)


def policy_init(ctx):
    LISTS.update(0, ctx.list_create(ctx.lruvecs[0], LRU_FILE, False, "clock"))


def folio_added(ctx, folios):
    ctx.list_add(LISTS.lookup(0), folios)


def folio_accessed(ctx, folios):
    ctx.folio_set_flags(folios, REFERENCED)


def select_victims(ctx, request):
    lst = LISTS.lookup(0)
    while True:
        oldest = ctx.list_peek(lst, 1)
        if ctx.folio_flags(oldest[0]) & REFERENCED == 0:
            return oldest
        ctx.folio_clear_flags(oldest, REFERENCED)
        ctx.list_add(lst, oldest)
