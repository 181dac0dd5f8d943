"""rejected@19: 'sorted' is not available

sorted() sorts in C, where the back-edge counter never sees its n log n
comparisons (each of which may compare nested lists).
"""
INTERFACE_VERSION = (1, 1)


def policy_init(ctx):
    pass


def folio_added(ctx, folios):
    pass


def select_victims(ctx, request):
    oldest = ctx.list_peek(0, 1024)
    x = sorted(oldest)
    return []
