package webhook

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
)

// KeySize is the length of a callback key: AES-256.
const KeySize = 32

// Errors [Encrypt] and [Decrypt] return, wrapped.
var (
	// ErrKeySize means the key is not exactly KeySize bytes.
	ErrKeySize = errors.New("webhook: callback key must be 32 bytes")
	// ErrMalformed means the body is not {"encrypt":"<base64>"} holding
	// whole AES blocks.
	ErrMalformed = errors.New("webhook: malformed encrypted body")
	// ErrBadPadding means the decrypted data does not end in valid PKCS#7
	// padding, which is what a wrong key usually looks like.
	ErrBadPadding = errors.New("webhook: bad padding")
)

// envelope is the JSON body an encrypted request carries.
type envelope struct {
	Encrypt string `json:"encrypt"`
}

func newCBC(key []byte) (cipher.Block, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("%w, got %d", ErrKeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("make cipher: %w", err)
	}
	return block, nil
}

// Encrypt returns the body callgate sends for payload when a callback key
// is configured: {"encrypt":"<base64>"}, the standard base64 of the
// AES-256-CBC encryption of payload with PKCS#7 padding. The IV is the
// key's first 16 bytes, as the receivers this format comes from expect;
// equal payloads therefore encrypt alike.
func Encrypt(key, payload []byte) ([]byte, error) {
	block, err := newCBC(key)
	if err != nil {
		return nil, err
	}
	pad := aes.BlockSize - len(payload)%aes.BlockSize
	data := make([]byte, len(payload)+pad)
	copy(data, payload)
	for i := len(payload); i < len(data); i++ {
		data[i] = byte(pad)
	}
	cipher.NewCBCEncrypter(block, key[:aes.BlockSize]).CryptBlocks(data, data)
	body, err := json.Marshal(envelope{Encrypt: base64.StdEncoding.EncodeToString(data)})
	if err != nil {
		return nil, fmt.Errorf("encode envelope: %w", err)
	}
	return body, nil
}

// Decrypt undoes [Encrypt]: it takes the request body and returns the
// payload, checking the PKCS#7 padding.
func Decrypt(key, body []byte) ([]byte, error) {
	block, err := newCBC(key)
	if err != nil {
		return nil, err
	}
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	data, err := base64.StdEncoding.DecodeString(env.Encrypt)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if len(data) == 0 || len(data)%aes.BlockSize != 0 {
		return nil, fmt.Errorf("%w: %d bytes is not whole blocks", ErrMalformed, len(data))
	}
	cipher.NewCBCDecrypter(block, key[:aes.BlockSize]).CryptBlocks(data, data)
	n, err := unpad(data)
	if err != nil {
		return nil, err
	}
	return data[:n], nil
}

// unpad returns the payload length of PKCS#7-padded data. It looks at
// every padding byte without branching on their values, so that how long
// it takes says little about the plaintext.
func unpad(data []byte) (int, error) {
	pad := int(data[len(data)-1])
	good := subtle.ConstantTimeLessOrEq(1, pad) & subtle.ConstantTimeLessOrEq(pad, aes.BlockSize)
	// Clamped so that a pad byte over 16, already refused above, cannot
	// push the comparison below zero.
	start := aes.BlockSize - min(pad, aes.BlockSize)
	last := data[len(data)-aes.BlockSize:]
	for i, b := range last {
		inPad := subtle.ConstantTimeLessOrEq(start, i)
		matches := subtle.ConstantTimeByteEq(b, byte(pad))
		// Outside the padding anything goes; inside it every byte must
		// equal the pad length.
		good &= matches | (inPad ^ 1)
	}
	if good != 1 {
		return 0, ErrBadPadding
	}
	return len(data) - pad, nil
}
