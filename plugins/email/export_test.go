package emailplugin

import "crypto/x509"

// SetRootCAsForTest makes p trust pool instead of the system's roots, so
// tests can run TLS servers with certificates of their own.
func (p *Plugin) SetRootCAsForTest(pool *x509.CertPool) { p.rootCAs = pool }
