"""rejected@18: nested functions are not allowed

A nested function is a closure: state that outlives the call, outside the
maps, and a function value the verifier's call graph does not see.
"""
INTERFACE_VERSION = (1, 1)


def policy_init(ctx):
    pass


def folio_added(ctx, folios):
    pass


def select_victims(ctx, request):
    def inner():
        return []
    return inner()
