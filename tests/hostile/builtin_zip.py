"""rejected@19: 'zip' is not available

zip() pairs iterables in C; with an unbounded iterable it is a loop the
verifier cannot bound and the counter cannot stop.
"""
INTERFACE_VERSION = (1, 1)


def policy_init(ctx):
    pass


def folio_added(ctx, folios):
    pass


def select_victims(ctx, request):
    oldest = ctx.list_peek(0, 1024)
    x = zip(oldest, range(10 ** 18))
    return []
