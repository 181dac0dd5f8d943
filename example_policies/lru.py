"""LRU: evict the folio used least recently.

One list per lruvec and type, in order of last use: a folio goes to the
head when it comes in and whenever the kernel sees it used (a read() or
write(): folio_accessed); reclaim takes from the tail. In exact cache mode
this is exact LRU, libCacheSim's LRU.c, whose miss counts it matches
(tests/test_replay.py). In the simulated machine the accesses through a
mapping are invisible until reclaim looks (the accessed bit): a folio with
a young PTE at the tail goes back to the head instead of being evicted, so
for mapped memory this is CLOCK, as close to LRU as the hardware lets any
policy be. (The built-in "lru" is the kernel's two-list approximation;
this example answers to "example:lru".)

Hooks: policy_init, folio_added, folio_accessed, select_victims,
folio_putback. Helpers: list_create, list_add, list_peek, folio_referenced,
folio_lruvec, folio_type.
"""

INTERFACE_VERSION = (1, 2)

MAX_LRUVECS = 64

# the list of each (lruvec, type), keyed lruvec * 2 + type
LISTS = ArrayMap(MAX_LRUVECS * 2)


def policy_init(ctx):
    for i in range(min(len(ctx.lruvecs), MAX_LRUVECS)):
        lruvec = ctx.lruvecs[i]
        for lru_type in LRU_TYPES:
            LISTS.update(lruvec * 2 + lru_type, ctx.list_create(lruvec, lru_type, False, "lru"))


def add(ctx, folios, tail):
    """Each folio to the head (or the tail) of its lruvec's and type's list,
    one after another: a folio named twice ends where its last use puts it.
    In one call when the batch is all of one list, as it almost always is."""
    if len(folios) == 0:
        return
    keys = ctx.folio_lruvec(folios) * 2 + ctx.folio_type(folios)
    if len(folios[keys != keys[0]]) == 0:
        ctx.list_add(LISTS.lookup(keys[0]), folios, tail)
        return
    for i in range(min(len(ctx.lruvecs), MAX_LRUVECS)):
        for lru_type in LRU_TYPES:
            key = ctx.lruvecs[i] * 2 + lru_type
            ctx.list_add(LISTS.lookup(key), folios[keys == key], tail)


def folio_added(ctx, folios):
    add(ctx, folios, False)


def folio_accessed(ctx, folios):
    add(ctx, folios, False)


def select_victims(ctx, request):
    lst = LISTS.lookup(request.lruvec * 2 + request.lru_type)
    oldest = ctx.list_peek(lst, request.nr_to_scan)
    used = ctx.folio_referenced(oldest) > 0
    ctx.list_add(lst, oldest[used])
    return Victims(oldest[~used], len(oldest))


def folio_putback(ctx, folios, reasons):
    """What reclaim could not free goes back to the head; a folio whose
    writeback ended goes to the tail, to be freed next."""
    rotate = reasons == PutbackReason.ROTATE
    add(ctx, folios[~rotate], False)
    add(ctx, folios[rotate], True)
