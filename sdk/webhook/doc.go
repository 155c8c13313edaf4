// Package webhook is how callgate signs and encrypts the HTTP requests it
// sends, exported so that receivers written in Go can check and open them
// with the same code the gateway uses.
//
// A request carries up to two signatures over the exact body bytes sent:
//
//   - Standard Webhooks (https://www.standardwebhooks.com): the headers
//     webhook-id, webhook-timestamp and webhook-signature, the last being
//     "v1," followed by the standard base64 of HMAC-SHA256 over
//     "<id>.<timestamp>.<body>". See [Sign] and [Verify].
//   - The ESS platform's Content-Signature header, "sha256=" followed by
//     the hex HMAC-SHA256 of the body keyed with the token's bytes. See
//     [ContentSignature] and [VerifyContentSignature].
//
// When a callback key is configured, the body is first replaced by
// {"encrypt":"<base64>"} holding the AES-256-CBC encryption of the payload
// (see [Encrypt] and [Decrypt]); the signatures then cover that JSON. The
// encryption hides the payload but does not authenticate it: check a
// signature before decrypting.
//
// A receiver checks a request like this:
//
//	body, _ := io.ReadAll(r.Body)
//	err := webhook.Verify(token, r.Header.Get(webhook.HeaderID),
//		r.Header.Get(webhook.HeaderTimestamp), r.Header.Get(webhook.HeaderSignature),
//		body, webhook.DefaultTolerance, time.Now())
//	if err != nil { /* answer 401 */ }
//	payload, err := webhook.Decrypt(key, body) // only when a key is configured
package webhook

// Header names callgate sets on the requests it sends.
const (
	HeaderID               = "webhook-id"
	HeaderTimestamp        = "webhook-timestamp"
	HeaderSignature        = "webhook-signature"
	HeaderContentSignature = "Content-Signature"
)
