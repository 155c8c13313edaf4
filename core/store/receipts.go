package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// VendorReceipt is a receipt a sender plugin reports on its own, such as
// an SMSC's delivery receipt, naming the delivery by the id the gateway
// gave it, by the id the vendor gave it, or both.
type VendorReceipt struct {
	// Plugin is the plugin that reported it; only deliveries of channels
	// that plugin sends are considered.
	Plugin string
	// TenantID, when set, keeps the search to that tenant's deliveries: a
	// report a tenant posts to the feedback path must only ever touch its
	// own. Empty searches every tenant's deliveries sent by Plugin, as for
	// the receipts a plugin reports on its own (one SMSC session serves
	// every tenant).
	TenantID   string
	DeliveryID string
	VendorID   string
	Status     string
	Detail     string
}

// sentBy matches deliveries whose channel the plugin ?2 sends, of the
// tenant ?3 when that is not empty: the tenant's own channel of that id
// names its plugin, and a channel id with no row is a default channel
// named after its plugin ("http", "sms", ...). The channel's plugin is the
// one at the time of the receipt: a channel moved to another plugin takes
// its deliveries with it.
const sentBy = `
	FROM deliveries d
	LEFT JOIN channels c ON c.tenant_id = d.tenant_id AND c.id = d.channel
	WHERE COALESCE(c.plugin, d.channel) = ?2
	  AND (?3 = '' OR d.tenant_id = ?3)`

// AddVendorReceipt records a plugin's receipt against the delivery it is
// about: the one with its DeliveryID when that is set and sent by the
// plugin, else the most recently updated delivery with its VendorID sent
// by the plugin; with TenantID set, only that tenant's deliveries are
// looked at. It returns ErrNotFound when there is none, which is common
// and harmless (a receipt for a delivery pruned since, or sent before
// vendor ids were kept).
func (s *Store) AddVendorReceipt(ctx context.Context, vr VendorReceipt) (Receipt, error) {
	if vr.Plugin == "" || (vr.DeliveryID == "" && vr.VendorID == "") {
		return Receipt{}, fmt.Errorf("add vendor receipt: %w: no plugin, or neither delivery nor vendor id", ErrNotFound)
	}
	r := Receipt{ID: NewID("rcp"), Status: vr.Status, Detail: vr.Detail, ReceivedAt: time.Now().UTC()}
	err := s.write(ctx, func(ctx context.Context, tx *txn) error {
		err := sql.ErrNoRows
		if vr.DeliveryID != "" {
			err = tx.QueryRowContext(ctx, `SELECT d.id, d.channel`+sentBy+` AND d.id = ?1`,
				vr.DeliveryID, vr.Plugin, vr.TenantID).Scan(&r.DeliveryID, &r.ChannelID)
		}
		if errors.Is(err, sql.ErrNoRows) && vr.VendorID != "" {
			// vendor_id != '' lets SQLite use the partial index on it.
			err = tx.QueryRowContext(ctx, `SELECT d.id, d.channel`+sentBy+`
				AND d.vendor_id = ?1 AND d.vendor_id != ''
				ORDER BY d.updated_at DESC, d.id DESC LIMIT 1`,
				vr.VendorID, vr.Plugin, vr.TenantID).Scan(&r.DeliveryID, &r.ChannelID)
		}
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `
			INSERT INTO receipts (id, delivery_id, channel_id, status, detail, received_at) VALUES (?, ?, ?, ?, ?, ?)`,
			r.ID, r.DeliveryID, r.ChannelID, r.Status, r.Detail, millis(r.ReceivedAt))
		return err
	})
	if err != nil {
		return Receipt{}, fmt.Errorf("add receipt from plugin %q (tenant %q, delivery %q, vendor id %q): %w",
			vr.Plugin, vr.TenantID, vr.DeliveryID, vr.VendorID, err)
	}
	return r, nil
}
