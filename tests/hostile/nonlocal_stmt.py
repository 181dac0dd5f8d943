"""rejected@13: nonlocal is not allowed

nonlocal reaches an enclosing function's locals: a closure's hidden state.
"""
INTERFACE_VERSION = (1, 1)


def policy_init(ctx):
    pass


def folio_added(ctx, folios):
    nonlocal folios_seen
    folios_seen = len(folios)


def select_victims(ctx, request):
    return []
