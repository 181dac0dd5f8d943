"""rejected@19: 'any' is not available

any() walks an iterable in C until an item is true: over a range of
true items it stops at once, over a range of false ones never.
"""
INTERFACE_VERSION = (1, 1)


def policy_init(ctx):
    pass


def folio_added(ctx, folios):
    pass


def select_victims(ctx, request):
    oldest = ctx.list_peek(0, 1024)
    x = any(range(1, 10 ** 18))
    return []
