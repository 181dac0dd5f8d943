"""rejected@7: this is not a constant expression

A dict at module level: state every call can grow without bound, outside
the maps (whose sizes are declared and fixed).
"""
INTERFACE_VERSION = (1, 1)
SEEN = {}


def policy_init(ctx):
    pass


def folio_added(ctx, folios):
    SEEN[len(folios)] = ctx.now()


def select_victims(ctx, request):
    return []
