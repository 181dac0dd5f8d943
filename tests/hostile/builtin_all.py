"""rejected@19: 'all' is not available

all() walks an iterable in C while its items are true: over a range of
non-zero ints it never returns.
"""
INTERFACE_VERSION = (1, 1)


def policy_init(ctx):
    pass


def folio_added(ctx, folios):
    pass


def select_victims(ctx, request):
    oldest = ctx.list_peek(0, 1024)
    x = all(range(1, 10 ** 18))
    return []
