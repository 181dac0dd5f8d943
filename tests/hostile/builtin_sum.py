"""rejected@18: 'sum' is not available

sum() adds up an iterable in C: over range(10**18) it never returns.
"""
INTERFACE_VERSION = (1, 1)


def policy_init(ctx):
    pass


def folio_added(ctx, folios):
    pass


def select_victims(ctx, request):
    oldest = ctx.list_peek(0, 1024)
    x = sum(range(10 ** 18))
    return []
