"""rejected@18: lambda is not allowed

A lambda is a function value: one that can be handed to the core or stored
away and called outside the hook that made it.
"""
INTERFACE_VERSION = (1, 1)


def policy_init(ctx):
    pass


def folio_added(ctx, folios):
    pass


def select_victims(ctx, request):
    key = lambda f: -f
    return []
