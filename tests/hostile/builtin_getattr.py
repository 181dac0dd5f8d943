"""rejected@10: 'getattr' is not available

getattr() with a computed name reads any attribute: the one-call form of
every attribute walk (RestrictedPython issue #142 is written with it).
"""
INTERFACE_VERSION = (1, 1)


def policy_init(ctx):
    x = getattr(ctx, "_core")
    ctx.trace(str(x))


def folio_added(ctx, folios):
    pass


def select_victims(ctx, request):
    return []
