"""rejected@15: a function cannot assign it

A hook that assigns a module-level name, to keep a counter between calls
outside the maps.
"""
INTERFACE_VERSION = (1, 1)
CALLS = 0


def policy_init(ctx):
    pass


def folio_added(ctx, folios):
    CALLS = len(folios)


def select_victims(ctx, request):
    return []
