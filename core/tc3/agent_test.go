package tc3_test

import (
	"context"
	"testing"

	"github.com/callgate/callgate/core/store"
)

// TestAgent: an agent key's Agent.ProxyOrganizationId acts for a
// sub-tenant of its own tenant, and for no one else; the change is
// audited as the agent's.
func TestAgent(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for _, tn := range []store.Tenant{{ID: "t1-sub", ParentID: "t1"}, {ID: "t2"}} {
		if _, err := f.store.CreateTenant(ctx, tn); err != nil {
			t.Fatal(err)
		}
	}
	const agentKey, agentSecret = "agent1", "s3cret-of-agent1"
	if _, err := f.store.AddAppKey(ctx, store.AppKey{TenantID: "t1", Key: agentKey, Agent: true}, agentSecret); err != nil {
		t.Fatal(err)
	}
	const url = "https://hooks.example.com/sub"
	as := func(org string) map[string]any {
		body := config(1, url, "", "")
		body["Agent"] = map[string]any{"ProxyOrganizationId": org}
		return body
	}
	tests := []struct {
		name, id, key string
		body          map[string]any
		wantCode      string
	}{
		{name: "agent_for_sub_tenant", id: agentKey, key: agentSecret, body: as("t1-sub")},
		{name: "agent_for_own_tenant", id: agentKey, key: agentSecret, body: as("t1")},
		{name: "agent_for_another_tenant", id: agentKey, key: agentSecret, body: as("t2"), wantCode: "UnauthorizedOperation.ProxyOrganization"},
		{name: "agent_for_no_tenant", id: agentKey, key: agentSecret, body: as("nobody"), wantCode: "UnauthorizedOperation.ProxyOrganization"},
		{name: "plain_key_for_sub_tenant", id: appKey, key: secret, body: as("t1-sub"), wantCode: "UnauthorizedOperation.NoPermissionFeature"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, msg := code(t, f.sdk(t, tt.id, tt.key, "ess", "2020-11-11", "ModifyApplicationCallbackInfo", tt.body)); got != tt.wantCode {
				t.Fatalf("answered %q %q, want %q", got, msg, tt.wantCode)
			}
		})
	}
	for tenant, want := range map[string]int{"t1-sub": 1, "t1": 1, "t2": 0} {
		if cs, err := f.store.ListCallbackConfigs(ctx, tenant); err != nil || len(cs) != want {
			t.Errorf("configs of %s: %v %v, want %d", tenant, cs, err, want)
		}
	}
	evs, err := f.store.ListAuditEvents(ctx, store.AuditFilter{TenantID: "t1-sub"})
	if err != nil || len(evs) != 1 || evs[0].Actor != "agent1 for t1-sub" || evs[0].Action != "config.add" {
		t.Errorf("the sub-tenant's audit log: %+v %v", evs, err)
	}
}
