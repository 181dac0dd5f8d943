"""GET-SCAN: folios used twice are kept from a scan that uses each once.

cache_ext's GET-SCAN policy (Zussman et al., "cache_ext: Customizing the
Page Cache with eBPF", SOSP 2025; policies/cache_ext_get_scan.bpf.c of
github.com/cache-ext/cache_ext): point lookups (GETs) keep reusing a set of
pages while a concurrent scan (SCAN) reads a range larger than memory once.
Under LRU or FIFO the scan pushes the lookups' pages out. cache_ext keeps
two lists: a folio added by a scanning thread goes to the scan list, any
other to the general list, and reclaim evicts from the scan list first.

Here, per lruvec and type, a SCAN list (FIFO, inactive) and a GET list
(active). A new folio goes to the head of the SCAN list. Reclaim looks at
the oldest SCAN folios: one used twice since it came in or was last
promoted goes to the head of the GET list; the others are evicted. The
GET list holds at most 3/4 of its pair's folios: past that its oldest are
demoted to the head of the SCAN list, to be used twice again before they
reach the tail. A folio that refaults at a refault distance within half
its node's pages was used twice, and goes straight to the GET list.

A use is what a policy can see: a read() or write() (folio_accessed, in
the two steps of the kernel's folio_mark_accessed; the uses of one batch
count once, as a burst, and in exact cache mode a batch is the hits
between two misses), a young PTE read with folio_referenced at the SCAN
tail (the first on a folio not seen yet buys it a second trip down the
list, as folio_check_references keeps such a folio inactive), a refault.

How it differs from cache_ext's, and why:
- No PIDs. cache_ext learns which threads scan from the application,
  through a BPF map of PIDs (scan_pids) it checks in folio_added, and a
  folio stays on the list it was added to; it manages only the files of
  a watched directory. A policy here sees folios, never processes, so the
  signal is the access pattern itself, a folio changes lists when its use
  does, and every folio is managed. A GET folio not used again before it
  reaches the SCAN tail is evicted with the scan. Without the
  application's word, this is the idea of 2Q and of the kernel's own
  active and inactive lists.
- Twice, not once. In the simulated machine the access that brings a
  folio in is seen too: the read() that faulted it reaches folio_accessed
  (filemap_read marks the folio it just read accessed) and a fault leaves
  its PTE young. "Used again since it came in" would promote every page
  of the scan. Exact cache mode reports hits only: there a folio needs
  hits in two batches while on the SCAN list, or a refault in the window.
- A bound instead of a threshold. cache_ext evicts its general list only
  when the scan list holds fewer than 5,000 pages, so GET folios may fill
  memory. Bounding the GET list leaves both lists something to evict and
  lets a GET set that went cold leave. The bound is a share of the pair's
  own folios, not of ctx.node_pages: anon and file share a node, and two
  GET lists each allowed 3/4 of it could protect all of it between them.
  In exact cache mode, once memory is full, it is 3/4 of the cache.
- Order within a list. cache_ext evicts by sampling (five folios, the one
  with the fewest accesses, LevelDB's index block at a file's end kept).
  Here the SCAN list is FIFO and the GET list demotes its oldest promotion:
  the SCAN list is a GET folio's second chance.
- The refault window is 2Q's (Johnson and Shasha, VLDB 1994), whose A1out
  remembers half of memory's worth of evicted pages; here the core's
  shadow entries measure the distance, and no ghost list is needed.

Hooks: policy_init, folio_added, folio_accessed, select_victims,
on_refault. folio_putback keeps its default: what reclaim could not free
goes back to the head of the SCAN list it was taken from, a folio whose
writeback ended to its tail. Helpers: list_create, list_add, list_len,
list_peek, folio_lruvec, folio_type, folio_flags, folio_set_flags,
folio_clear_flags, folio_referenced, count_event, node_pages, lruvec_node.
"""

INTERFACE_VERSION = (1, 2)

MAX_LRUVECS = 64
SEEN = PG_policy0  # used once since it came in or was last promoted
REUSED = PG_policy1  # used again after that, or refaulted within the window
GET_SHARE_NUM = 3  # the GET list holds at most 3/4 of its pair's folios
GET_SHARE_DEN = 4
REFAULT_WINDOW_DEN = 2  # a refault is a use within half the node's pages
SCAN_BATCH = 1024  # the most folios one select_victims call looks at

# the lists of each (lruvec, type), keyed lruvec * 2 + type
SCAN_LISTS = ArrayMap(MAX_LRUVECS * 2)
GET_LISTS = ArrayMap(MAX_LRUVECS * 2)
# the refault distance within which a folio counts as reused, per lruvec
REFAULT_WINDOWS = ArrayMap(MAX_LRUVECS)


def policy_init(ctx):
    for i in range(min(len(ctx.lruvecs), MAX_LRUVECS)):
        lruvec = ctx.lruvecs[i]
        for lru_type in LRU_TYPES:
            key = lruvec * 2 + lru_type
            SCAN_LISTS.update(key, ctx.list_create(lruvec, lru_type, False, "scan"))
            GET_LISTS.update(key, ctx.list_create(lruvec, lru_type, True, "get"))
        REFAULT_WINDOWS.update(lruvec, ctx.node_pages(ctx.lruvec_node(lruvec)) // REFAULT_WINDOW_DEN)


def add(ctx, folios, lists):
    """Each folio to the head of its lruvec's and type's list in `lists`;
    in one call when the batch is all of one pair, as it almost always is."""
    if len(folios) == 0:
        return
    keys = ctx.folio_lruvec(folios) * 2 + ctx.folio_type(folios)
    if len(folios[keys != keys[0]]) == 0:
        ctx.list_add(lists.lookup(keys[0]), folios)
        return
    for i in range(min(len(ctx.lruvecs), MAX_LRUVECS)):
        for lru_type in LRU_TYPES:
            key = ctx.lruvecs[i] * 2 + lru_type
            ctx.list_add(lists.lookup(key), folios[keys == key])


def folio_added(ctx, folios):
    """A new folio is a scan candidate; one that refaulted within the
    window has been used twice and is a GET folio."""
    reused = (ctx.folio_flags(folios) & REUSED) != 0
    add(ctx, folios[~reused], SCAN_LISTS)
    back = folios[reused]
    if len(back):
        ctx.folio_clear_flags(back, REUSED)
        add(ctx, back, GET_LISTS)


def folio_accessed(ctx, folios):
    """folio_mark_accessed()'s two steps: the first use marks a folio seen,
    the next reused. A folio named twice in one batch steps once."""
    seen = (ctx.folio_flags(folios) & SEEN) != 0
    ctx.folio_set_flags(folios[seen], REUSED)
    ctx.folio_set_flags(folios, SEEN)


def select_victims(ctx, request):
    key = request.lruvec * 2 + request.lru_type
    scan = SCAN_LISTS.lookup(key)
    get = GET_LISTS.lookup(key)
    oldest = ctx.list_peek(scan, min(request.nr_to_scan, SCAN_BATCH))
    young = ctx.folio_referenced(oldest) > 0
    flags = ctx.folio_flags(oldest)
    seen = (flags & SEEN) != 0
    reused = ((flags & REUSED) != 0) | (young & seen)
    # a young PTE on a folio not seen before may be only the fault that
    # brought it in: a second trip down the list tells (the kernel's
    # folio_check_references keeps such a folio inactive, referenced)
    second_trip = young & ~seen
    kept = oldest[second_trip]
    promoted = oldest[reused]
    if len(promoted):
        ctx.folio_clear_flags(promoted, SEEN | REUSED)
        ctx.list_add(get, promoted)
        ctx.count_event("pgactivate", request.lruvec, len(promoted))
    if len(kept):
        ctx.folio_set_flags(kept, SEEN)
        ctx.list_add(scan, kept)
    nr_get = ctx.list_len(get)
    excess = nr_get - (nr_get + ctx.list_len(scan)) * GET_SHARE_NUM // GET_SHARE_DEN
    if excess > 0:
        demoted = ctx.list_peek(get, min(excess, SCAN_BATCH))
        ctx.list_add(scan, demoted)
        ctx.count_event("pgdeactivate", request.lruvec, len(demoted))
    return Victims(oldest[~(reused | second_trip)], len(oldest))


def on_refault(ctx, folios, refault):
    """A folio back within the window (of the lruvec it comes back to) was
    used again: folio_added() puts it on the GET list, an activation for
    the core."""
    lruvecs = ctx.folio_lruvec(folios)
    back = lruvecs < 0  # none yet: every folio is resident again
    for i in range(min(len(ctx.lruvecs), MAX_LRUVECS)):
        lruvec = ctx.lruvecs[i]
        back = back | ((lruvecs == lruvec) & (refault.distance <= REFAULT_WINDOWS.lookup(lruvec)))
    ctx.folio_set_flags(folios[back], REUSED)
    return back * REFAULT_ACTIVATE
