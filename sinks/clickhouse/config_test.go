package clickhouse

import "testing"

func TestFromSettingsRefusesBadValues(t *testing.T) {
	good := map[string]any{"addr": "ch:8123", "database": "sluice", "dialTimeout": "2s", "queryTimeout": "1m"}
	c, err := FromSettings("warehouse", good)
	if err != nil {
		t.Fatal(err)
	}
	if c.Database != "sluice" || c.DialTimeout.Seconds() != 2 || c.QueryTimeout.Minutes() != 1 {
		t.Errorf("%+v", c)
	}
	for _, bad := range []map[string]any{
		{"addr": "ch:8123", "dialTimeout": "-1s"},
		{"addr": "ch:8123", "queryTimeout": "-5m"},
		{"addr": "ch:8123", "batchEvents": -1},
		{"addr": "ch:8123", "database": "1bad"},
		{"addr": "ch:8123", "protocol": "grpc"},
		{"addr": "ch:8123", "compression": "brotli"},
		{"addr": "ch:8123", "databse": "sluice"},
	} {
		if _, err := FromSettings("warehouse", bad); err == nil {
			t.Errorf("FromSettings(%v) accepted", bad)
		}
	}
}
