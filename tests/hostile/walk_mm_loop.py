"""rejected@19: cannot bound this loop

A loop over what ctx.walk_mm() returns: every young folio of the lruvec,
as many as the machine has, a bound the verifier does not know.
"""
INTERFACE_VERSION = (1, 1)


def policy_init(ctx):
    pass


def folio_added(ctx, folios):
    pass


def select_victims(ctx, request):
    n = 0
    for folio in ctx.walk_mm(request.lruvec):
        n += 1
    return []
