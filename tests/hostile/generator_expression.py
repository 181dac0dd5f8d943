"""rejected@18: generator expressions are not allowed

A generator expression: an uncounted loop and a generator object, whose
gi_frame is the frame walk of GHSA-wqc8-x2pr-7jqh.
"""
INTERFACE_VERSION = (1, 1)


def policy_init(ctx):
    pass


def folio_added(ctx, folios):
    pass


def select_victims(ctx, request):
    lazy = (f for f in range(10 ** 9))
    return []
