package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/ukehi/placement"
	"github.com/ukehi/placement/admin/internal/wire"
	"go.uber.org/zap"
)

// ShardStats are one shard's figures for ReportStats.
type ShardStats struct {
	Shard placement.ShardID
	// Stats' Keys, Bytes, Load and SplitKey are sent; Estimated is not.
	placement.Stats
}

// ReportStats sends stats to every server (POST /stats, at most
// Config.StatsBatch shards a request): stats are soft state that each
// server keeps for itself, and any server may be the next leader, whose
// planner needs them. Each request is tried once (the next report is the
// retry); the error joins every server's failures. A server that does not
// know a shard yet (a follower behind) refuses that batch with 404.
func (c *Client) ReportStats(ctx context.Context, stats []ShardStats) error {
	if len(stats) == 0 {
		return nil
	}
	batches := make([][]wire.Stat, 0, (len(stats)+c.cfg.StatsBatch-1)/c.cfg.StatsBatch)
	for start := 0; start < len(stats); start += c.cfg.StatsBatch {
		batch := make([]wire.Stat, 0, min(c.cfg.StatsBatch, len(stats)-start))
		for _, s := range stats[start:min(start+c.cfg.StatsBatch, len(stats))] {
			batch = append(batch, wire.Stat{Shard: s.Shard, Keys: s.Keys, Bytes: s.Bytes, Load: s.Load, SplitKey: s.SplitKey})
		}
		batches = append(batches, batch)
	}
	return c.everyServer(func(server string) error {
		var errs []error
		for _, b := range batches {
			cl := call{method: http.MethodPost, path: "/stats", body: wire.Stats{Stats: b}}
			errs = append(errs, c.once(ctx, server, cl))
		}
		return errors.Join(errs...)
	})
}

// ReportNodeStats sends node's capacity, the bytes it may hold (0:
// unknown), to every server (POST /nodes/{id}/stats), as ReportStats
// sends shard stats.
func (c *Client) ReportNodeStats(ctx context.Context, node placement.NodeID, capacity uint64) error {
	cl := call{method: http.MethodPost, path: fmt.Sprintf("/nodes/%d/stats", node), body: map[string]uint64{"capacity": capacity}}
	return c.everyServer(func(server string) error { return c.once(ctx, server, cl) })
}

// ReportPressure sends node's foreground pressure, from 0 (idle) to 1
// (saturated), to every server (POST /nodes/{id}/pressure): the planner
// narrows the node's move windows by it (see
// placement.ShardRegistry.ReportPressure). It is soft state that holds
// until the next report, so report it again as it changes, and 0 once it
// eases.
func (c *Client) ReportPressure(ctx context.Context, node placement.NodeID, pressure float64) error {
	cl := call{method: http.MethodPost, path: fmt.Sprintf("/nodes/%d/pressure", node), body: map[string]float64{"pressure": pressure}}
	return c.everyServer(func(server string) error { return c.once(ctx, server, cl) })
}

// once makes cl at server, one try.
func (c *Client) once(ctx context.Context, server string, cl call) error {
	body, err := encode(cl.body)
	if err != nil {
		return err
	}
	ans, _, err := c.try(ctx, server, cl, body)
	if err != nil {
		return fmt.Errorf("client: %s %s at %s: %w", cl.method, cl.path, server, err)
	}
	if e := errorOf(ans, cl); e != nil {
		return e
	}
	return nil
}

// everyServer runs send for each server at once, and returns when all
// have returned, with their errors joined.
func (c *Client) everyServer(send func(server string) error) error {
	errs := make([]error, len(c.servers))
	var wg sync.WaitGroup
	for i, s := range c.servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = send(s)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Report is what one heartbeat sends: the node's capacity and, when
// Pressure is set, its foreground pressure (when Node is not 0), and its
// shards' stats.
type Report struct {
	Node     placement.NodeID
	Capacity uint64
	// Pressure, if not nil, is sent with ReportPressure; nil sends none,
	// leaving what the servers hold.
	Pressure *float64
	Shards   []ShardStats
}

// Heartbeat sends report()'s figures to every server at once and then
// every interval, until ctx ends; it returns ctx's error. It blocks: the
// caller owns its goroutine. A round's error goes to onError, or, when
// onError is nil, to the Logger at Warn; the next round is the retry.
func (c *Client) Heartbeat(ctx context.Context, interval time.Duration, report func() Report, onError func(error)) error {
	if interval <= 0 {
		return fmt.Errorf("client: heartbeat interval %v must be > 0", interval)
	}
	if onError == nil {
		onError = func(err error) { c.log.Warn("a stats heartbeat failed", zap.Error(err)) }
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for ctx.Err() == nil {
		r := report()
		var errs []error
		if r.Node != 0 {
			errs = append(errs, c.ReportNodeStats(ctx, r.Node, r.Capacity))
			if r.Pressure != nil {
				errs = append(errs, c.ReportPressure(ctx, r.Node, *r.Pressure))
			}
		}
		errs = append(errs, c.ReportStats(ctx, r.Shards))
		if err := errors.Join(errs...); err != nil && ctx.Err() == nil {
			onError(err)
		}
		select {
		case <-ctx.Done():
		case <-t.C:
		}
	}
	return ctx.Err()
}
