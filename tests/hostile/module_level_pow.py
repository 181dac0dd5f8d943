"""rejected@7: does not fit in 64 bits

10 ** 10 ** 6 as a module constant: a million-digit int, computed by the
verifier itself if it evaluated constants naively.
"""
INTERFACE_VERSION = (1, 1)
HUGE = 10 ** 10 ** 6


def policy_init(ctx):
    pass


def folio_added(ctx, folios):
    pass


def select_victims(ctx, request):
    return []
