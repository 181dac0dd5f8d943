"""rejected@18: match statements are not allowed

match reads attributes through class patterns (__match_args__) with no
_getattr_ guard: case ScanDecision(scan=s) reads .scan unchecked.
"""
INTERFACE_VERSION = (1, 1)


def policy_init(ctx):
    pass


def folio_added(ctx, folios):
    pass


def select_victims(ctx, request):
    match request:
        case ScanDecision(scan=s):
            return []
    return []
