"""rejected@15: global is not allowed

global rebinds a module-level name from a hook: state outside the maps, or
a guard (_getattr_) replaced for every later call.
"""
INTERFACE_VERSION = (1, 1)
CALLS = 0


def policy_init(ctx):
    pass


def folio_added(ctx, folios):
    global CALLS
    CALLS = CALLS + 1


def select_victims(ctx, request):
    return []
