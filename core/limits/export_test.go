package limits

// Len is how many buckets l keeps, for tests of the sweep.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.tats)
}
