"""rejected@14: 'folios' is a parameter

Writing into an array the core hands a hook: the core's own batch of folio
ids, which it goes on using after the hook returns.
"""
INTERFACE_VERSION = (1, 1)


def policy_init(ctx):
    pass


def folio_added(ctx, folios):
    folios[0] = 5


def select_victims(ctx, request):
    return []
