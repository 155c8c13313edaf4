package secrets_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/callgate/callgate/core/secrets"
)

func TestBox(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	box, err := secrets.New(key)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := secrets.New([]byte("fedcba9876543210fedcba9876543210"))
	tests := []struct {
		name  string
		plain string
	}{
		{name: "empty", plain: ""},
		{name: "ascii", plain: "tok-secret"},
		{name: "unicode", plain: "密钥 🔑"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sealed := box.Seal(tt.plain)
			if tt.plain != "" && (strings.Contains(sealed, tt.plain) || sealed == box.Seal(tt.plain)) {
				t.Errorf("sealed %q as %q (readable or not randomised)", tt.plain, sealed)
			}
			got, err := box.Open(sealed)
			if err != nil || got != tt.plain {
				t.Errorf("Open = %q, %v", got, err)
			}
			if tt.plain != "" {
				if _, err := other.Open(sealed); !errors.Is(err, secrets.ErrOpen) {
					t.Errorf("another key opened it: %v", err)
				}
				tampered := sealed[:len(sealed)-2] + "AA"
				if _, err := box.Open(tampered); !errors.Is(err, secrets.ErrOpen) {
					t.Errorf("a tampered value opened: %v", err)
				}
			}
		})
	}
	if got, _ := box.Open("plain-old-value"); got != "plain-old-value" {
		t.Errorf("plain value = %q", got)
	}
	if _, err := secrets.New([]byte("short")); err == nil {
		t.Error("a short key was accepted")
	}
}

func TestLoadKey(t *testing.T) {
	file := filepath.Join(t.TempDir(), "master.key")
	if _, _, err := secrets.LoadKey("", file, false); err == nil {
		t.Fatal("a missing key file was accepted without create")
	}
	k1, created, err := secrets.LoadKey("", file, true)
	if err != nil || !created || len(k1) != 32 {
		t.Fatalf("create: %v %v %d", err, created, len(k1))
	}
	if st, _ := os.Stat(file); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", st.Mode())
	}
	k2, created, err := secrets.LoadKey("", file, true)
	if err != nil || created || string(k1) != string(k2) {
		t.Fatalf("reload: %v %v", err, created)
	}
	if _, _, err := secrets.LoadKey("bm90LTMyLWJ5dGVz", file, true); err == nil {
		t.Error("a short key in the variable was accepted")
	}
}
