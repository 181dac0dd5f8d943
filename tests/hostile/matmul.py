"""rejected@14: the matrix multiplication operator @ is not allowed

numpy's @ on two batches is a matrix product computed in C (an outer
product of two 4096-folio batches is sixteen million multiplications).
"""
INTERFACE_VERSION = (1, 1)


def policy_init(ctx):
    pass


def folio_added(ctx, folios):
    x = folios @ folios


def select_victims(ctx, request):
    return []
