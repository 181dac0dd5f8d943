"""rejected@20: cannot bound this loop

range(start, 10) with a huge negative start computed from a helper: a loop
with a constant stop that runs 2**62 times. The verifier bounds a range by
its start as well as its stop.
"""
INTERFACE_VERSION = (1, 1)


def policy_init(ctx):
    pass


def folio_added(ctx, folios):
    pass


def select_victims(ctx, request):
    n = 0
    for i in range(-ctx.now() - (1 << 62), 10):
        n += 1
    return []
