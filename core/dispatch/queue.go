package dispatch

import (
	"container/heap"
	"sync"
	"time"
)

// queue holds the deliveries due soon, soonest first, each id at most
// once. It is the dispatcher's memory; the store stays the truth.
type queue struct {
	mu    sync.Mutex
	items timeHeap
	index map[string]*item // ids queued or being worked on
	limit int
	// overflowed is set when an id was turned away because the queue was
	// full; the loader then looks in the store sooner.
	overflowed bool
	wake       chan struct{}
}

// job is a delivery the queue holds: its id and the endpoint it goes to,
// which is all a worker needs to know to hold it back without a store
// write (a busy endpoint, an open circuit, a rate).
type job struct {
	id       string
	tenantID string
	configID string
}

type item struct {
	job
	at  time.Time
	pos int // index in the heap, -1 once popped
	// again is set when the id is pushed while a worker has it (a retry
	// asked for right as an attempt ends): it is queued again at done.
	again time.Time
}

func newQueue(limit int) *queue {
	return &queue{index: make(map[string]*item), limit: limit, wake: make(chan struct{}, 1)}
}

// push queues j for at; a job already queued keeps the earlier time. It
// reports false when the queue is full.
func (q *queue) push(j job, at time.Time) bool {
	id := j.id
	q.mu.Lock()
	defer q.mu.Unlock()
	if it, ok := q.index[id]; ok {
		switch {
		case it.pos < 0:
			if it.again.IsZero() || at.Before(it.again) {
				it.again = at
			}
		case at.Before(it.at):
			it.at = at
			heap.Fix(&q.items, it.pos)
			q.signal()
		}
		return true
	}
	if len(q.index) >= q.limit {
		q.overflowed = true
		q.signal() // the scheduler must learn to look in the store soon
		return false
	}
	it := &item{job: j, at: at}
	q.index[id] = it
	heap.Push(&q.items, it)
	if q.items[0] == it {
		q.signal()
	}
	return true
}

func (q *queue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// popDue removes and returns the jobs due at now; they stay in the index
// until done or wait is called, so a reload does not queue them twice. It
// also returns when the next one is due (zero if none).
func (q *queue) popDue(now time.Time, max int) ([]job, time.Time) {
	q.mu.Lock()
	defer q.mu.Unlock()
	var jobs []job
	for len(q.items) > 0 && !q.items[0].at.After(now) && len(jobs) < max {
		it := heap.Pop(&q.items).(*item)
		jobs = append(jobs, it.job)
	}
	if len(q.items) == 0 {
		return jobs, time.Time{}
	}
	return jobs, q.items[0].at
}

// wait puts a popped job back for at, whatever time a reload asked for
// meanwhile: its worker held it back and knows when it may go.
func (q *queue) wait(id string, at time.Time) {
	q.mu.Lock()
	defer q.mu.Unlock()
	it, ok := q.index[id]
	if !ok || it.pos >= 0 {
		return
	}
	it.at, it.again = at, time.Time{}
	heap.Push(&q.items, it)
	if q.items[0] == it {
		q.signal()
	}
}

// done forgets id once its worker is through with it.
func (q *queue) done(id string) {
	q.mu.Lock()
	if it, ok := q.index[id]; ok && it.pos < 0 && !it.again.IsZero() {
		it.at, it.again = it.again, time.Time{}
		heap.Push(&q.items, it)
		q.signal()
		q.mu.Unlock()
		return
	}
	delete(q.index, id)
	if q.overflowed {
		q.signal() // room again for what waits in the store
	}
	q.mu.Unlock()
}

func (q *queue) markOverflow() {
	q.mu.Lock()
	q.overflowed = true
	q.mu.Unlock()
}

func (q *queue) hasOverflow() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.overflowed
}

// takeOverflow reports and clears the overflow flag.
func (q *queue) takeOverflow() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	o := q.overflowed
	q.overflowed = false
	return o
}

func (q *queue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.index)
}

type timeHeap []*item

func (h timeHeap) Len() int           { return len(h) }
func (h timeHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h timeHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].pos, h[j].pos = i, j
}
func (h *timeHeap) Push(x any) {
	it := x.(*item)
	it.pos = len(*h)
	*h = append(*h, it)
}
func (h *timeHeap) Pop() any {
	old := *h
	n := len(old)
	it := old[n-1]
	old[n-1] = nil
	it.pos = -1
	*h = old[:n-1]
	return it
}
