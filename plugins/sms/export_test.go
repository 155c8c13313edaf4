package smsplugin

import "time"

// SetEnquireLinkForTest changes how often sessions bound from now on send
// enquire_link, so a test sees the keep-alive without waiting 30 s.
func (p *Plugin) SetEnquireLinkForTest(d time.Duration) { p.enquireLink = d }

// SetBackoffForTest changes the delays between bind attempts.
func (p *Plugin) SetBackoffForTest(minDelay, maxDelay time.Duration) {
	p.minBackoff, p.maxBackoff = minDelay, maxDelay
}
