package main

import (
	"context"
	"errors"
	"time"

	"github.com/ukehi/placement"
	"github.com/ukehi/placement/admin/client"
	"go.uber.org/zap"
)

// register adds the node to the map, or finds it there (a restart), trying
// again while no placement server answers.
func register(ctx context.Context, c *client.Client, node placement.NodeID, log *zap.Logger) error {
	for {
		err := c.AddNode(ctx, node)
		switch {
		case err == nil:
			log.Info("registered")
			return nil
		case errors.Is(err, placement.ErrNodeExists):
			log.Info("registered before; carrying on")
			return nil
		case ctx.Err() != nil:
			return ctx.Err()
		}
		log.Warn("registering; trying again", zap.Error(err))
		select {
		case <-time.After(time.Second):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// heartbeat reports the node's capacity to every placement server every
// cfg.heartbeat until ctx ends: stats are soft state, and a server that
// restarts or starts leading needs them again. A server that is down
// fails its round quietly; the next round is the retry.
func heartbeat(ctx context.Context, c *client.Client, cfg config, log *zap.Logger) {
	report := func() client.Report { return client.Report{Node: cfg.node, Capacity: cfg.capacity} }
	_ = c.Heartbeat(ctx, cfg.heartbeat, report, func(err error) { log.Debug("heartbeat", zap.Error(err)) })
}

// simulateCopy stands in for copying m's shard from m.From: it takes
// copyTime, reporting progress in quarters, and stops when ctx ends.
func simulateCopy(ctx context.Context, m placement.Move, copyTime time.Duration) error {
	const steps = 4
	t := time.NewTicker(copyTime / steps)
	defer t.Stop()
	for step := uint64(1); step <= steps; step++ {
		select {
		case <-t.C:
			placement.ReportCopied(ctx, step) // quarters; a database reports bytes
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}
