"""rejected@8: more than the 4,194,304 a policy may have in all

Maps each within MAX_MAP_ENTRIES whose sum is not: the limit holds for the
policy as a whole.
"""
INTERFACE_VERSION = (1, 1)
FIRST = HashMap(1 << 22)
SECOND = LruHashMap(1 << 22)


def policy_init(ctx):
    pass


def folio_added(ctx, folios):
    pass


def select_victims(ctx, request):
    return []
