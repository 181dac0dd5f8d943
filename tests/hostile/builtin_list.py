"""rejected@19: 'list' is not available

list() of a range allocates in C before any guard sees the length: eight
gigabytes for range(10**9).
"""
INTERFACE_VERSION = (1, 1)


def policy_init(ctx):
    pass


def folio_added(ctx, folios):
    pass


def select_victims(ctx, request):
    oldest = ctx.list_peek(0, 1024)
    x = list(range(10 ** 9))
    return []
