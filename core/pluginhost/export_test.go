package pluginhost

// BackoffForTest is the delay before a restart after so many failures.
var BackoffForTest = backoff

// PIDForTest returns the process id of the named plugin's current
// process, or 0 when it has none.
func (h *Host) PIDForTest(name string) int {
	p, err := h.lookup(name)
	if err != nil {
		return 0
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.client == nil {
		return 0
	}
	if rc := p.client.ReattachConfig(); rc != nil {
		return rc.Pid
	}
	return 0
}
