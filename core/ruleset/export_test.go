package ruleset

// CompiledCount is how many tenant modules the set holds compiled.
func CompiledCount(s *Set) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.compiled)
}
