package ruleset

import "slices"

// CompiledCount is how many tenant modules the set holds compiled.
func CompiledCount(s *Set) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.compiled)
}

// CompiledBuiltins lists, sorted, the built-in rules compiled so far.
func CompiledBuiltins(s *Set) []string {
	var out []string
	for code, l := range s.builtin {
		if l.compiled.Load() {
			out = append(out, code)
		}
	}
	slices.Sort(out)
	return out
}
