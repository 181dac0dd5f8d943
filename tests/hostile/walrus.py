"""rejected@18: the walrus operator := is not allowed

An assignment inside an expression: in a comprehension it binds in the
enclosing scope, and it hides bindings from the verifier's bounds.
"""
INTERFACE_VERSION = (1, 1)


def policy_init(ctx):
    pass


def folio_added(ctx, folios):
    pass


def select_victims(ctx, request):
    if (n := request.nr_to_scan) > 0:
        return []
    return []
