package webhook_test

import (
	"fmt"
	"time"

	"github.com/callgate/callgate/sdk/webhook"
)

// A receiver checks the signature of what it got, then decrypts it.
func Example() {
	token := "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	key := []byte("0123456789abcdef0123456789abcdef")
	now := time.Unix(1700000000, 0)

	// What callgate sends.
	body, err := webhook.Encrypt(key, []byte(`{"status":"delivered"}`))
	if err != nil {
		panic(err)
	}
	sig := webhook.Sign(token, "dlv_1", now.Unix(), body)

	// What the receiver does with the headers and body it got.
	if err := webhook.Verify(token, "dlv_1", "1700000000", sig, body, 0, now); err != nil {
		fmt.Println("reject:", err)
		return
	}
	payload, err := webhook.Decrypt(key, body)
	if err != nil {
		fmt.Println("reject:", err)
		return
	}
	fmt.Println(string(payload))
	// Output: {"status":"delivered"}
}
