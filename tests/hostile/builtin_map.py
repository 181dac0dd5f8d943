"""rejected@18: 'map' is not available

map() calls a function over an iterable in C, with no back edge to count.
"""
INTERFACE_VERSION = (1, 1)


def policy_init(ctx):
    pass


def folio_added(ctx, folios):
    pass


def select_victims(ctx, request):
    oldest = ctx.list_peek(0, 1024)
    x = map(abs, oldest)
    return []
