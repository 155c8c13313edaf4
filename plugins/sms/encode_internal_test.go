package smsplugin

import (
	"strings"
	"testing"

	"github.com/linxGnu/gosmpp/data"
	"github.com/linxGnu/gosmpp/pdu"
)

func TestEncodeText_parts(t *testing.T) {
	tests := []struct {
		name  string
		text  string
		ucs2  bool
		sizes []int // encoded octets per part
	}{
		{name: "gsm_single_full", text: strings.Repeat("a", 160), sizes: []int{160}},
		{name: "gsm_one_over", text: strings.Repeat("a", 161), sizes: []int{153, 8}},
		{name: "gsm_escape_counts_twice", text: strings.Repeat("€", 80), sizes: []int{160}},
		{name: "gsm_escape_overflows", text: strings.Repeat("€", 81), sizes: []int{152, 10}},
		// The € would straddle the boundary: it moves whole to part 2.
		{name: "gsm_escape_not_split", text: strings.Repeat("a", 152) + "€" + strings.Repeat("a", 10), sizes: []int{152, 12}},
		{name: "ucs2_single_full", text: strings.Repeat("中", 70), ucs2: true, sizes: []int{140}},
		{name: "ucs2_one_over", text: strings.Repeat("中", 71), ucs2: true, sizes: []int{134, 8}},
		// An emoji is a surrogate pair, never cut in half.
		{name: "ucs2_surrogate_not_split", text: strings.Repeat("中", 66) + "😀" + strings.Repeat("中", 10), ucs2: true, sizes: []int{132, 24}},
		{name: "one_non_gsm_char_makes_ucs2", text: "price: 5 ₹", ucs2: true, sizes: []int{20}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := encodeText(tt.text)
			if err != nil {
				t.Fatal(err)
			}
			if wantUCS2 := tt.ucs2; (got.enc == data.UCS2) != wantUCS2 {
				t.Fatalf("encoding %v", got.enc)
			}
			if len(got.parts) != len(tt.sizes) {
				t.Fatalf("%d parts, want %d", len(got.parts), len(tt.sizes))
			}
			var joined []byte
			for i, p := range got.parts {
				if len(p) != tt.sizes[i] {
					t.Errorf("part %d: %d octets, want %d", i+1, len(p), tt.sizes[i])
				}
				joined = append(joined, p...)
			}
			if back, err := got.enc.Decode(joined); err != nil || back != tt.text {
				t.Errorf("parts decode to %q, %v", back, err)
			}
		})
	}
}

func TestParseReceipt(t *testing.T) {
	mk := func(esm byte, text string, tlv map[pdu.Tag][]byte) *pdu.DeliverSM {
		d := pdu.NewDeliverSM().(*pdu.DeliverSM)
		d.EsmClass = esm
		if err := d.Message.SetMessageDataWithEncoding([]byte(text), data.GSM7BIT); err != nil {
			t.Fatal(err)
		}
		for tag, v := range tlv {
			d.OptionalParameters[tag] = pdu.Field{Tag: tag, Data: v}
		}
		return d
	}
	tests := []struct {
		name string
		d    *pdu.DeliverSM
		want receipt
		ok   bool
	}{
		{
			name: "text",
			d:    mk(0x04, "id:7f3a sub:001 dlvrd:001 submit date:2601010000 done date:2601010001 stat:UNDELIV err:011 Text:hello", nil),
			want: receipt{messageID: "7f3a", stat: "UNDELIV", err: "011"}, ok: true,
		},
		{
			name: "tlvs_win",
			d:    mk(0x04, "id:wrong stat:ENROUTE err:000", map[pdu.Tag][]byte{pdu.TagReceiptedMessageID: []byte("right\x00"), pdu.TagMessageStateOption: {2}}),
			want: receipt{messageID: "right", stat: "DELIVRD", err: "000"}, ok: true,
		},
		{name: "mobile_originated", d: mk(0x00, "hello", nil), ok: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := parseReceipt(tt.d)
			if ok != tt.ok || got != tt.want {
				t.Fatalf("parseReceipt = %+v, %v; want %+v, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}
