"""rejected@9: a default value must be a constant

A default value is evaluated when the def runs and shared by every call: a
mutable default is state outside the maps, a computed one is code at load.
"""
INTERFACE_VERSION = (1, 1)


def remember(x, seen=[]):
    return seen


def policy_init(ctx):
    pass


def folio_added(ctx, folios):
    remember(len(folios))


def select_victims(ctx, request):
    return []
