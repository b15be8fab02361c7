package yesporedis

import "github.com/redis/go-redis/v9"

// honoursDeadlines reports whether rdb applies ctx deadlines to its socket
// reads and writes (go-redis's ContextTimeoutEnabled), so that a call can be
// bounded by its ctx alone. Clients of unknown kind are assumed not to.
func honoursDeadlines(rdb redis.UniversalClient) bool {
	switch c := rdb.(type) {
	case *redis.Client:
		return c.Options().ContextTimeoutEnabled
	case *redis.ClusterClient:
		return c.Options().ContextTimeoutEnabled
	case *redis.Ring:
		return c.Options().ContextTimeoutEnabled
	}
	return false
}
