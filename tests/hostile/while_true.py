"""rejected@10: while loops are not allowed

The plain infinite loop. The verifier needs a bound it can see for every
loop; while has none.
"""
INTERFACE_VERSION = (1, 1)


def policy_init(ctx):
    while True:
        pass


def folio_added(ctx, folios):
    pass


def select_victims(ctx, request):
    return []
