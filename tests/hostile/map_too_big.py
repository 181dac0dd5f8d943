"""rejected@7: a map holds 1 to 4,194,304 entries

A map declared beyond MAX_MAP_ENTRIES: memory the policy could fill at the
core's expense.
"""
INTERFACE_VERSION = (1, 1)
EVERYTHING = HashMap(1 << 30)


def policy_init(ctx):
    pass


def folio_added(ctx, folios):
    pass


def select_victims(ctx, request):
    return []
