"""SIEVE: a FIFO queue and a hand that sifts it, keeping what was used.

New folios go to the head of a FIFO queue, unvisited; using a folio sets
its visited bit and moves nothing. A hand walks the queue from the oldest
folio towards the newest: it clears the bit of each visited folio it passes,
which keeps its place, and evicts the first unvisited one, then rests on
the next newer folio until the next eviction. Past the newest folio it wraps
to the oldest. Survivors thus gather behind the hand while new folios that
are never used again leave quickly. Zhang et al., "SIEVE is Simpler than
LRU: an Efficient Turn-Key Eviction Algorithm for Web Caches", NSDI'24, as
libCacheSim's Sieve.c implements it (the paper's algorithm), whose miss
counts it matches in exact cache mode (tests/test_example_sieve.py).

The core's lists take folios only at a head or a tail, so the queue of each
lruvec and type is kept as two lists cut at the hand: "ahead", the folios
from the hand (its tail) to the newest (its head), where new folios go; and
"behind", the folios the hand has passed, oldest at its tail. Passing a
visited folio moves it to the head of "behind", where it was in the queue.
When "ahead" runs out, the hand wraps: "behind" is then the whole queue
with the oldest at its tail, and the two lists swap roles.

In the simulated machine a folio is also visited when a process used it
through a mapping: the hand reads the accessed bits of the page tables
(folio_referenced) of the folios it looks at, and keeps a young one as a
set visited bit. A call names up to nr_to_scan victims, the hand going on
past each as SIEVE's successive evictions would; in exact cache mode
(nr_to_scan 1) exactly one. Folios reclaim could not free stay behind the
hand; one whose writeback ended goes to the hand, to be freed next.

Hooks: policy_init, folio_added, folio_accessed, select_victims,
folio_putback. Helpers: list_create, list_add, list_len, list_peek,
folio_lruvec, folio_type, folio_flags, folio_set_flags, folio_clear_flags,
folio_referenced.
"""

INTERFACE_VERSION = (1, 2)

MAX_LRUVECS = 64
VISITED = PG_policy0  # used since the hand last passed it
FIRST_WINDOW = 16  # the folios the hand looks at first, doubled while all are visited
MAX_WINDOW = 4096
MAX_WINDOWS = 1024  # a pass over 4M folios in one call; a next call goes on

# the two lists of each (lruvec, type), keyed lruvec * 2 + type
AHEAD = ArrayMap(MAX_LRUVECS * 2)  # from the hand (tail) to the newest (head)
BEHIND = ArrayMap(MAX_LRUVECS * 2)  # what the hand has passed, the oldest at the tail


def policy_init(ctx):
    for i in range(min(len(ctx.lruvecs), MAX_LRUVECS)):
        lruvec = ctx.lruvecs[i]
        for lru_type in LRU_TYPES:
            AHEAD.update(lruvec * 2 + lru_type, ctx.list_create(lruvec, lru_type, False, "sieve"))
            BEHIND.update(lruvec * 2 + lru_type, ctx.list_create(lruvec, lru_type, False, "sieve"))


def hand_list(ctx, key):
    """The list whose tail the hand is on. When the hand has passed the
    newest folio it wraps to the oldest, the tail of "behind": the lists
    swap roles. New folios go to this list too: put on an empty "ahead",
    a new folio would be the first the hand looks at, not the oldest."""
    ahead = AHEAD.lookup(key)
    if ctx.list_len(ahead) > 0:
        return ahead
    behind = BEHIND.lookup(key)
    AHEAD.update(key, behind)
    BEHIND.update(key, ahead)
    return behind


def put(ctx, key, folios, passed, tail):
    """Folios of one (lruvec, type) ahead of the hand, or behind it."""
    if len(folios) == 0:
        return
    if passed:
        ctx.list_add(BEHIND.lookup(key), folios, tail)
    else:
        ctx.list_add(hand_list(ctx, key), folios, tail)


def place(ctx, folios, passed, tail):
    """Each folio to the head (or the tail) of its lruvec's and type's list
    ahead of the hand (or behind it); in one call when the batch is all of
    one list, as it almost always is."""
    if len(folios) == 0:
        return
    keys = ctx.folio_lruvec(folios) * 2 + ctx.folio_type(folios)
    if len(folios[keys != keys[0]]) == 0:
        put(ctx, keys[0], folios, passed, tail)
        return
    for i in range(min(len(ctx.lruvecs), MAX_LRUVECS)):
        for lru_type in LRU_TYPES:
            key = ctx.lruvecs[i] * 2 + lru_type
            put(ctx, key, folios[keys == key], passed, tail)


def folio_added(ctx, folios):
    place(ctx, folios, False, False)


def folio_accessed(ctx, folios):
    ctx.folio_set_flags(folios, VISITED)


def visited(ctx, window):
    """Which folios of the window were used since the hand last passed
    them. A young PTE is turned into the visited bit: reading it clears it,
    and the hand may stop before it reaches that folio."""
    young = window[ctx.folio_referenced(window) > 0]
    if len(young) > 0:
        ctx.folio_set_flags(young, VISITED)
    return (ctx.folio_flags(window) & VISITED) != 0


def pass_over(ctx, key, folios):
    """The hand passes visited folios: they lose the bit and keep their
    place in the queue, now behind the hand."""
    if len(folios) > 0:
        ctx.folio_clear_flags(folios, VISITED)
        ctx.list_add(BEHIND.lookup(key), folios)


def select_victims(ctx, request):
    key = request.lruvec * 2 + request.lru_type
    wanted = max(request.nr_to_scan, 1)
    size = min(max(wanted, FIRST_WINDOW), MAX_WINDOW)
    nr_passed = 0
    # Whole windows of visited folios are passed at once; the first window
    # that holds an unvisited folio is where the hand stops.
    window = ctx.list_peek(hand_list(ctx, key), size)
    used = visited(ctx, window)
    for step in range(MAX_WINDOWS):
        if len(window) == 0 or len(window[used]) < len(window):
            break
        pass_over(ctx, key, window)
        nr_passed = nr_passed + len(window)
        size = min(size * 2, MAX_WINDOW)
        window = ctx.list_peek(hand_list(ctx, key), size)
        used = visited(ctx, window)
    # The hand goes on to the wanted-th unvisited folio of the window: no
    # helper finds it in an array, so a loop does, over this window only.
    end = len(window)
    found = 0
    for i in range(min(len(window), MAX_WINDOW)):
        if not used[i]:
            found = found + 1
            if found == wanted:
                end = i + 1
                break
    swept = window[:end]
    pass_over(ctx, key, swept[used[:end]])
    victims = swept[~used[:end]]
    nr_scanned = nr_passed + len(swept)
    if nr_scanned == len(victims):
        return victims
    if nr_passed > 0:
        # after a wrap the hand may come back to a folio it passed in this
        # call: a folio is scanned once
        nr_scanned = min(nr_scanned, ctx.list_len(AHEAD.lookup(key)) + ctx.list_len(BEHIND.lookup(key)))
    return Victims(victims, nr_scanned)


def folio_putback(ctx, folios, reasons):
    """What reclaim could not free stays in the queue, behind the hand as
    the hand has passed it; a folio whose writeback ended goes to the hand,
    to be freed next."""
    rotate = reasons == PutbackReason.ROTATE
    place(ctx, folios[~rotate], True, False)
    place(ctx, folios[rotate], False, True)
