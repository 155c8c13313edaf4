// Package secrets seals what callgate keeps but must not store in the
// clear (callback keys and tokens, channel passwords) with AES-256-GCM
// under a master key that lives outside the database.
package secrets

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strings"
)

// prefix marks a sealed value, and its version, so a plain value written
// before sealing was on is still read.
const prefix = "sealed:v1:"

// ErrOpen is returned when a sealed value cannot be opened: the master key
// is not the one it was sealed with, or the value was altered.
var ErrOpen = errors.New("cannot open sealed value")

// Box seals and opens values. The zero Box is unusable; make one with New.
type Box struct {
	aead cipher.AEAD
}

// New returns a Box for a 32-byte master key.
func New(key []byte) (*Box, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("master key must be 32 bytes, not %d", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("master key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("master key: %w", err)
	}
	return &Box{aead: aead}, nil
}

// Seal encrypts plain; the empty string stays empty (nothing to hide, and
// "is it set" stays answerable without the key).
func (b *Box) Seal(plain string) string {
	if plain == "" {
		return ""
	}
	nonce := make([]byte, b.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		panic("read random bytes: " + err.Error())
	}
	out := b.aead.Seal(nonce, nonce, []byte(plain), nil)
	return prefix + base64.RawStdEncoding.EncodeToString(out)
}

// Open decrypts a value made by Seal; a value without the sealed prefix is
// returned as it is.
func (b *Box) Open(v string) (string, error) {
	rest, ok := strings.CutPrefix(v, prefix)
	if !ok {
		return v, nil
	}
	raw, err := base64.RawStdEncoding.DecodeString(rest)
	if err != nil || len(raw) < b.aead.NonceSize() {
		return "", ErrOpen
	}
	n := b.aead.NonceSize()
	plain, err := b.aead.Open(nil, raw[:n], raw[n:], nil)
	if err != nil {
		return "", ErrOpen
	}
	return string(plain), nil
}

// LoadKey reads a master key: base64 of 32 bytes, from the variable's
// value when set, else from the file, which is made with a fresh key
// (mode 0600) when it does not exist and create is set.
func LoadKey(envValue, file string, create bool) ([]byte, bool, error) {
	if envValue != "" {
		return decodeKey(envValue)
	}
	b, err := os.ReadFile(file)
	if err == nil {
		return decodeKey(string(b))
	}
	if !errors.Is(err, os.ErrNotExist) || !create {
		return nil, false, fmt.Errorf("read master key: %w", err)
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, false, err
	}
	if err := os.WriteFile(file, []byte(base64.StdEncoding.EncodeToString(key)+"\n"), 0o600); err != nil {
		return nil, false, fmt.Errorf("write master key: %w", err)
	}
	return key, true, nil
}

func decodeKey(s string) ([]byte, bool, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil || len(key) != 32 {
		return nil, false, errors.New("master key must be the base64 of 32 bytes")
	}
	return key, false, nil
}
