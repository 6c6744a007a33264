package topology

import (
	"context"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/sluicehq/sluice/topology/topics"
)

// names names the workspace's topics.
func (e env) names() topics.Names { return topics.Names{Prefix: e.ws.TopicPrefix} }

// checkTopics refuses to start when a topic the roles use is missing or has
// the wrong cleanup policy (a compacted table on a delete topic silently
// loses suppressions: DESIGN guarantee 2).
func checkTopics(ctx context.Context, e env) error {
	cl, err := e.conn.NewClient()
	if err != nil {
		return err
	}
	defer cl.Close()
	return topics.Check(ctx, kadm.NewClient(cl), topics.ForConfig(e.ws))
}
