package webhook_test

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/callgate/callgate/sdk/webhook"
)

var testKey = []byte("0123456789abcdef0123456789ABCDEF")

func TestEncrypt_round_trip(t *testing.T) {
	tests := []struct {
		name    string
		payload []byte
	}{
		{name: "empty", payload: []byte{}},
		{name: "one_byte", payload: []byte("x")},
		{name: "block_minus_one", payload: bytes.Repeat([]byte("a"), 15)},
		{name: "one_block", payload: bytes.Repeat([]byte("b"), 16)},
		{name: "block_plus_one", payload: bytes.Repeat([]byte("c"), 17)},
		{name: "json", payload: []byte(`{"MsgId":"1","Status":"DELIVERED","Detail":"ok"}`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, err := webhook.Encrypt(testKey, tt.payload)
			if err != nil {
				t.Fatal(err)
			}
			var env map[string]string
			if err := json.Unmarshal(body, &env); err != nil || len(env) != 1 {
				t.Fatalf("body %s is not {\"encrypt\":...}: %v", body, err)
			}
			data, err := base64.StdEncoding.DecodeString(env["encrypt"])
			if err != nil {
				t.Fatal(err)
			}
			// PKCS#7 always adds between 1 and 16 bytes.
			if want := (len(tt.payload)/16 + 1) * 16; len(data) != want {
				t.Fatalf("ciphertext is %d bytes, want %d", len(data), want)
			}
			// The first block must be AES(key, P1 XOR key[:16]): CBC with
			// the key's first half as IV, checked with the bare block cipher.
			first := make([]byte, 16)
			copy(first, tt.payload)
			for i := len(tt.payload); i < 16; i++ {
				first[i] = byte(16 - len(tt.payload)%16)
			}
			for i := range first {
				first[i] ^= testKey[i]
			}
			block, _ := aes.NewCipher(testKey)
			block.Encrypt(first, first)
			if !bytes.Equal(first, data[:16]) {
				t.Fatalf("first block %x, want %x", data[:16], first)
			}
			got, err := webhook.Decrypt(testKey, body)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tt.payload) {
				t.Fatalf("Decrypt = %q, want %q", got, tt.payload)
			}
		})
	}
}

func TestEncrypt_key_size(t *testing.T) {
	for _, n := range []int{0, 16, 31, 33, 64} {
		key := bytes.Repeat([]byte{1}, n)
		if _, err := webhook.Encrypt(key, []byte("x")); !errors.Is(err, webhook.ErrKeySize) {
			t.Errorf("Encrypt with %d-byte key: %v, want ErrKeySize", n, err)
		}
		if _, err := webhook.Decrypt(key, []byte(`{"encrypt":""}`)); !errors.Is(err, webhook.ErrKeySize) {
			t.Errorf("Decrypt with %d-byte key: %v, want ErrKeySize", n, err)
		}
	}
}

// cbc encrypts whole blocks as they are, padding included, so that tests
// can build bodies whose padding is wrong.
func cbc(t *testing.T, plain []byte) []byte {
	t.Helper()
	block, err := aes.NewCipher(testKey)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]byte, len(plain))
	cipher.NewCBCEncrypter(block, testKey[:16]).CryptBlocks(out, plain)
	return []byte(`{"encrypt":"` + base64.StdEncoding.EncodeToString(out) + `"}`)
}

func TestDecrypt_errors(t *testing.T) {
	good, err := webhook.Encrypt(testKey, []byte(`{"hello":"world"}`))
	if err != nil {
		t.Fatal(err)
	}
	wrongKey := []byte("ffffffffffffffffffffffffffffffff")
	tests := []struct {
		name    string
		key     []byte
		body    []byte
		wantErr error
	}{
		{name: "wrong_key", key: wrongKey, body: good, wantErr: webhook.ErrBadPadding},
		{name: "pad_zero", key: testKey, body: cbc(t, append(bytes.Repeat([]byte("a"), 15), 0)), wantErr: webhook.ErrBadPadding},
		{name: "pad_over_block", key: testKey, body: cbc(t, append(bytes.Repeat([]byte("a"), 15), 17)), wantErr: webhook.ErrBadPadding},
		{name: "pad_bytes_differ", key: testKey, body: cbc(t, append(bytes.Repeat([]byte("a"), 13), 2, 3, 3)), wantErr: webhook.ErrBadPadding},
		{name: "not_json", key: testKey, body: []byte("encrypt"), wantErr: webhook.ErrMalformed},
		{name: "not_base64", key: testKey, body: []byte(`{"encrypt":"***"}`), wantErr: webhook.ErrMalformed},
		{name: "empty", key: testKey, body: []byte(`{"encrypt":""}`), wantErr: webhook.ErrMalformed},
		{name: "partial_block", key: testKey, body: []byte(`{"encrypt":"` + base64.StdEncoding.EncodeToString(make([]byte, 20)) + `"}`), wantErr: webhook.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := webhook.Decrypt(tt.key, tt.body)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Decrypt = %q, %v; want %v", got, err, tt.wantErr)
			}
		})
	}
}

func TestDecrypt_full_padding_block(t *testing.T) {
	body := cbc(t, append([]byte(strings.Repeat("z", 16)), bytes.Repeat([]byte{16}, 16)...))
	got, err := webhook.Decrypt(testKey, body)
	if err != nil || string(got) != strings.Repeat("z", 16) {
		t.Fatalf("Decrypt = %q, %v", got, err)
	}
}
